/**
 * Helpers every strategy class shares (strategies.ts, fedrolex.ts, fjord.ts): who is in which
 * cluster, the shared starting weights, and whether a round kept every proposal.
 */
import type { ModelSpec } from '../architecture.ts';
import type { HeteroflOptions } from './heterofl.ts';
import type { ClusterModel, ClusterPlan, ServerStep, StrategyName } from './types.ts';

export interface StrategyContext {
  spec: ModelSpec;
  clusters: readonly ClusterPlan[];
  /** Width-1 initial weights shared by all strategies, so they start from the same point (FedTSA's may start from `models` instead). */
  initialWeights?: Float32Array;
  /**
   * FedTSA's models to start from, one per cluster in `clusters` order (a resumed or re-clustered
   * run: see round/plan.ts carryOverModels); default: the initial weights at each cluster's width.
   */
  models?: readonly ClusterModel[];
  /** Stage 2 for 'fedtsa'; required there, ignored elsewhere. */
  serverStep?: ServerStep;
  /** The run's seed, for strategies that draw at random ('fjord' draws its widths); required there, ignored elsewhere. */
  seed?: number;
  /** 'heterofl' only: the scaler and the masked loss (default neither: HETEROFL_VARIANTS.plain, heterofl.ts says why). */
  heterofl?: HeteroflOptions;
}

export function clusterOf(clusters: readonly ClusterPlan[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const c of clusters) for (const id of c.memberIds) map.set(id, c.index);
  return map;
}

export function requireCluster(membership: Map<string, number>, clientId: string, fn: string): number {
  const index = membership.get(clientId);
  if (index === undefined) throw new Error(`${fn}: client '${clientId}' is in no cluster`);
  return index;
}

export function initialOf(ctx: StrategyContext, name: StrategyName): Float32Array {
  if (!ctx.initialWeights) throw new Error(`createStrategy: '${name}' needs initialWeights`);
  return ctx.initialWeights;
}

/** True when the round kept every proposal (no rollback): a shared model moves only then. */
export function keptAll(proposed: readonly ClusterModel[] | undefined, final: readonly ClusterModel[]): boolean {
  return proposed !== undefined && proposed.length === final.length && final.every((m, k) => m.weights === proposed[k]?.weights);
}
