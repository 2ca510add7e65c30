/**
 * A round's plan (FEDTSA.md sections 2-3): KDE clustering over the clients' capabilities,
 * held against the clustering in force by hysteresis when there is one, a width per cluster,
 * and each new cluster's starting model carried over from the old clustering.
 *
 * The simulation plans once, with no previous clustering; the coordinator plans again
 * whenever the set of ready clients changes, passing the clustering it holds.
 */
import type { ModelSpec } from '../architecture.ts';
import { clusterByCapability, type KdeClustering, type KdeOptions } from '../kde.ts';
import { assignWithHysteresis } from '../strategy/hysteresis.ts';
import type { ClientProfile, ClusterModel, ClusterPlan, ClusterSetup } from '../strategy/types.ts';
import { extractSubmodel, scatterSubmodel } from '../submodel.ts';
import { chooseClusterWidths, WIDTH_LADDER } from '../width-policy.ts';

/**
 * A clustering as the coordinator saves it with every round (as JSON, in SQLite) and resumes
 * from: rounds already saved must still read back, so its fields do not change.
 */
export interface ClusteringSnapshot {
  /** Cluster boundaries in samples/s, ascending (the KDE's). */
  boundaries: number[];
  /** The KDE's density over capability, for the dashboard's plot. */
  grid: { x: number[]; density: number[] };
  clusters: { index: number; widthRatio: number; memberIds: string[] }[];
}

export interface PlanOptions {
  kde?: Partial<KdeOptions>;
  /** Wall-clock budget for one round's local training on a cluster's slow end. */
  roundBudgetSec: number;
  localEpochs: number;
  ladder?: readonly number[];
  /**
   * The clustering in force. With it, a client whose new cluster neighbours its old one stays
   * unless its capability lies more than `marginLog` (ln units) past the boundary between them.
   */
  hysteresis?: { previous: ClusteringSnapshot; marginLog: number };
}

/** KDE clustering over the clients' capabilities, hysteresis if asked, then a width per cluster. */
export function planClusters(profiles: readonly ClientProfile[], options: PlanOptions): ClusterSetup {
  const ladder = options.ladder ?? WIDTH_LADDER;
  const kde = clusterByCapability(
    profiles.map((p) => ({ id: p.id, samplesPerSec: p.samplesPerSec })),
    { maxClusters: ladder.length, ...options.kde },
  );
  const assignment = options.hysteresis ? holdBackFlips(profiles, kde, options.hysteresis) : kde.assignment;
  // In input order, as the KDE lists its members.
  const members = kde.clusters.map((c) => profiles.filter((p) => assignment[p.id] === c.index));
  const meanSamples = profiles.reduce((s, p) => s + p.numSamples, 0) / profiles.length;
  const widths = chooseClusterWidths(
    // Hysteresis can leave a cluster empty for a round; it still needs a width (the ladder's floor rule decides it).
    members.map((m) => ({ memberCapabilities: m.length > 0 ? m.map((p) => p.samplesPerSec) : [1] })),
    { roundBudgetSec: options.roundBudgetSec, samplesPerRound: options.localEpochs * meanSamples, ladder },
  );
  return {
    kde,
    clusters: kde.clusters.map((c, i) => ({ index: c.index, widthRatio: widths[i]!.width, memberIds: members[i]!.map((p) => p.id) })),
  };
}

function holdBackFlips(
  profiles: readonly ClientProfile[], kde: KdeClustering, hysteresis: NonNullable<PlanOptions['hysteresis']>,
): Record<string, number> {
  const { previous, marginLog } = hysteresis;
  const previousAssignment: Record<string, number> = {};
  for (const c of previous.clusters) for (const id of c.memberIds) previousAssignment[id] = c.index;
  const capabilities = Object.fromEntries(profiles.map((p) => [p.id, p.samplesPerSec]));
  return assignWithHysteresis(previousAssignment, previous.clusters.length, kde, capabilities, marginLog);
}

/** The part of a plan the coordinator saves with each round. */
export function snapshotClustering(setup: ClusterSetup): ClusteringSnapshot {
  return { boundaries: setup.kde.boundaries, grid: setup.kde.grid, clusters: setup.clusters };
}

/**
 * Starting models for a new clustering: each cluster takes the old model that served most of
 * its members (the old model at its index when none did), resized through the width-1 initial
 * weights when its width changed; with no old models, the initial weights at its width.
 */
export function carryOverModels(
  spec: ModelSpec, initialWeights: Float32Array, oldModels: readonly ClusterModel[], next: { clusters: readonly ClusterPlan[] },
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

/** True when the set of clients differs from the one the clustering was made for (or there is none). */
export function membershipChanged(clustering: { clusters: readonly ClusterPlan[] } | undefined, clientIds: readonly string[]): boolean {
  if (!clustering) return true;
  const before = new Set(clustering.clusters.flatMap((c) => c.memberIds));
  return before.size !== clientIds.length || clientIds.some((id) => !before.has(id));
}
