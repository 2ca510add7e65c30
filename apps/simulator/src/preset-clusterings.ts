/**
 * The simulator presets' clusterings and widths for given seeds, under two sets of KDE
 * options, without loading any data: capabilities come from drawCapabilities (as
 * buildExperiment draws them) and every client holds clientSamples / numClients samples
 * (the partitions deal out all of clientData, so that is the mean the width policy uses).
 */
import type { KdeOptions } from '@fedtsa/core/kde';
import { planClusters } from '@fedtsa/core/round/plan';
import { PRESETS, type SimulationConfig } from './config.ts';
import { clientId, drawCapabilities } from './experiment.ts';

export interface PresetClustering {
  preset: string;
  seed: number;
  numClients: number;
  /** Per cluster, slowest first: width and member ids. */
  clusters: { widthRatio: number; memberIds: string[]; tiers: Record<string, number> }[];
  boundaries: number[];
}

export function presetClustering(name: string, config: SimulationConfig, seed: number, kde: Partial<KdeOptions>): PresetClustering {
  const seeded = { ...config, seed };
  const { tierOf, samplesPerSec } = drawCapabilities(seeded);
  const profiles = samplesPerSec.map((s, i) => ({ id: clientId(i), samplesPerSec: s, numSamples: config.clientSamples / config.numClients }));
  const setup = planClusters(profiles, { roundBudgetSec: config.roundBudgetSec, localEpochs: config.localEpochs, kde });
  return {
    preset: name,
    seed,
    numClients: config.numClients,
    clusters: setup.clusters.map((c) => {
      const tiers: Record<string, number> = {};
      for (const id of c.memberIds) {
        const tier = tierOf[profiles.findIndex((p) => p.id === id)]!;
        tiers[tier] = (tiers[tier] ?? 0) + 1;
      }
      return { widthRatio: c.widthRatio, memberIds: c.memberIds, tiers };
    }),
    boundaries: setup.kde.boundaries,
  };
}

/** Same partition and widths (boundaries may move inside the gaps without changing anyone's cluster). */
export function sameClustering(a: PresetClustering, b: PresetClustering): boolean {
  return a.clusters.length === b.clusters.length &&
    a.clusters.every((c, k) => c.widthRatio === b.clusters[k]!.widthRatio && c.memberIds.join() === b.clusters[k]!.memberIds.join());
}

export function comparePresetClusterings(seeds: readonly number[], before: Partial<KdeOptions>, after: Partial<KdeOptions>) {
  return Object.entries(PRESETS).flatMap(([name, config]) => seeds.map((seed) => {
    const was = presetClustering(name, config, seed, before);
    const now = presetClustering(name, config, seed, after);
    return { preset: name, seed, numClients: config.numClients, unchanged: sameClustering(was, now), before: was, now };
  }));
}

export function describeClustering(c: PresetClustering): string {
  return c.clusters.map((k) => `w ${k.widthRatio}: ${Object.entries(k.tiers).map(([t, n]) => `${t} ${n}`).join(' + ')}`).join(' | ');
}
