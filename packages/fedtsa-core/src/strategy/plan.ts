import { clusterByCapability, type KdeOptions } from '../kde.ts';
import { chooseClusterWidths, WIDTH_LADDER } from '../width-policy.ts';
import type { ClientProfile, ClusterSetup } from './types.ts';

export interface PlanOptions {
  kde?: Partial<KdeOptions>;
  /** Wall-clock budget for one round's local training on a cluster's slow end. */
  roundBudgetSec: number;
  localEpochs: number;
  ladder?: readonly number[];
}

/** KDE clustering over the clients' capabilities, then a width per cluster (FEDTSA.md 2-3). */
export function planClusters(profiles: readonly ClientProfile[], options: PlanOptions): ClusterSetup {
  const ladder = options.ladder ?? WIDTH_LADDER;
  const kde = clusterByCapability(
    profiles.map((p) => ({ id: p.id, samplesPerSec: p.samplesPerSec })),
    { maxClusters: ladder.length, ...options.kde },
  );
  const byId = new Map(profiles.map((p) => [p.id, p]));
  const meanSamples = profiles.reduce((s, p) => s + p.numSamples, 0) / profiles.length;
  const widths = chooseClusterWidths(
    kde.clusters.map((c) => ({ memberCapabilities: c.memberIds.map((id) => (byId.get(id) as ClientProfile).samplesPerSec) })),
    { roundBudgetSec: options.roundBudgetSec, samplesPerRound: options.localEpochs * meanSamples, ladder },
  );
  return {
    kde,
    clusters: kde.clusters.map((c, i) => ({ index: c.index, widthRatio: (widths[i] as { width: number }).width, memberIds: [...c.memberIds] })),
  };
}
