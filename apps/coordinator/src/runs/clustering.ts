/**
 * Live clustering for a run: KDE over the connected clients' reports at a round boundary,
 * hysteresis against the previous assignment, a width per cluster, and each new cluster's
 * starting model taken from the old cluster that held most of its members (resized through
 * the width-1 initial weights when its width changed).
 */
import { clusterByCapability } from '@fedtsa/core/kde';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { extractSubmodel, scatterSubmodel } from '@fedtsa/core/submodel';
import { assignWithHysteresis } from '@fedtsa/core/strategy/hysteresis';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import { chooseClusterWidths, WIDTH_LADDER } from '@fedtsa/core/width-policy';
import type { ClusteringSnapshot } from '../store/types.ts';
import type { RunSettings } from './settings.ts';

export interface ClusterInput {
  id: string;
  samplesPerSec: number;
  numSamples: number;
}

export function clusterClients(
  clients: readonly ClusterInput[], settings: RunSettings, previous: ClusteringSnapshot | undefined,
): ClusteringSnapshot {
  const kde = clusterByCapability(clients.map((c) => ({ id: c.id, samplesPerSec: c.samplesPerSec })), {
    bandwidthFactor: settings.kdeBandwidthFactor, minProminence: settings.kdeMinProminence,
    minClusterSize: Math.min(settings.minClientsPerCluster, clients.length), maxClusters: WIDTH_LADDER.length,
  });
  const capabilities = Object.fromEntries(clients.map((c) => [c.id, c.samplesPerSec]));
  const previousAssignment: Record<string, number> = {};
  for (const c of previous?.clusters ?? []) for (const id of c.memberIds) previousAssignment[id] = c.index;
  const assignment = previous
    ? assignWithHysteresis(previousAssignment, previous.clusters.length, kde, capabilities, settings.hysteresisLog)
    : kde.assignment;
  const members = kde.clusters.map((c) => clients.filter((x) => assignment[x.id] === c.index));
  const meanSamples = clients.reduce((s, c) => s + c.numSamples, 0) / clients.length;
  const widths = chooseClusterWidths(
    members.map((m) => ({ memberCapabilities: m.length > 0 ? m.map((x) => x.samplesPerSec) : [1] })),
    { roundBudgetSec: settings.roundBudgetSec, samplesPerRound: settings.localEpochs * meanSamples },
  );
  return {
    boundaries: kde.boundaries,
    grid: kde.grid,
    clusters: kde.clusters.map((c, i) => ({ index: c.index, widthRatio: (widths[i] as { width: number }).width, memberIds: (members[i] as ClusterInput[]).map((x) => x.id) })),
  };
}

/** Starting models for a new clustering, carried over from the old one. */
export function carryOverModels(
  spec: ModelSpec, initialWeights: Float32Array, oldModels: readonly ClusterModel[], next: ClusteringSnapshot,
): ClusterModel[] {
  return next.clusters.map((c) => {
    let best: ClusterModel | undefined;
    let bestOverlap = 0;
    for (const m of oldModels) {
      const overlap = m.memberIds.filter((id) => c.memberIds.includes(id)).length;
      if (overlap > bestOverlap) { best = m; bestOverlap = overlap; }
    }
    const source = best ?? oldModels[Math.min(c.index, oldModels.length - 1)];
    let weights: Float32Array;
    if (!source) weights = extractSubmodel(initialWeights, spec, c.widthRatio);
    else if (source.widthRatio === c.widthRatio) weights = source.weights;
    else weights = extractSubmodel(scatterSubmodel(initialWeights, source.weights, spec, source.widthRatio), spec, c.widthRatio);
    return { clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds, weights };
  });
}

/** True when the set of clients differs from the one the snapshot was made for. */
export function membershipChanged(snapshot: ClusteringSnapshot | undefined, clientIds: readonly string[]): boolean {
  if (!snapshot) return true;
  const before = new Set(snapshot.clusters.flatMap((c) => c.memberIds));
  return before.size !== clientIds.length || clientIds.some((id) => !before.has(id));
}
