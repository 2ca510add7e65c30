/**
 * What HeteroFL, FedRolex and FjORD share: one width-1 global model, of which each cluster is
 * sent and served a part. Stage 1 averages the updates into the global model; it moves only if
 * the round kept every cluster's proposal (a rollback of one cluster's part keeps the whole
 * global model where it was). The subclasses say which part a width gets (`served`), how updates
 * are averaged (`aggregate`), and, where they differ, the width a member trains (`taskWidth`) and
 * what else its task carries (`taskExtras`).
 */
import { clusterOf, initialOf, keptAll, requireCluster, type StrategyContext } from './membership.ts';
import type { ClientTask, ClientUpdate, ClusterModel, ClusterPlan, Strategy, StrategyName } from './types.ts';

export abstract class SharedGlobalStrategy implements Strategy {
  abstract readonly name: StrategyName;
  protected global: Float32Array;
  /** Rounds adopted so far: the 0-based round of the tasks handed out now. */
  protected round = 0;
  protected readonly membership: Map<string, number>;
  private proposed: { global: Float32Array; models: ClusterModel[] } | undefined;

  /** `name`: the subclass's, passed here because its own field is set only after this constructor. */
  constructor(protected readonly ctx: StrategyContext, name: StrategyName) {
    this.global = initialOf(ctx, name).slice();
    this.membership = clusterOf(ctx.clusters);
  }

  /** What a width-r cluster is sent and served, cut from `global`. */
  protected abstract served(global: Float32Array, widthRatio: number): Float32Array;

  /** The global model with `updates` (at least one) averaged into it. */
  protected abstract aggregate(updates: readonly ClientUpdate[]): Float32Array;

  /** The width a member of `cluster` trains this round (default: the cluster's). */
  protected taskWidth(cluster: ClusterPlan): number {
    return cluster.widthRatio;
  }

  /** What else a task at this width carries (default: nothing). */
  protected taskExtras(_widthRatio: number): Partial<ClientTask> {
    return {};
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    const cache = new Map<number, Float32Array>();
    return participantIds.map((clientId) => {
      const index = requireCluster(this.membership, clientId, 'tasks');
      const cluster = this.ctx.clusters.find((c) => c.index === index) as ClusterPlan;
      const widthRatio = this.taskWidth(cluster);
      let weights = cache.get(widthRatio);
      if (!weights) cache.set(widthRatio, (weights = this.served(this.global, widthRatio)));
      return { clientId, clusterIndex: cluster.index, widthRatio, weights, ...this.taskExtras(widthRatio) };
    });
  }

  stage1(updates: readonly ClientUpdate[]): ClusterModel[] {
    const global = updates.length > 0 ? this.aggregate(updates) : this.global;
    this.proposed = { global, models: this.views(global) };
    return this.proposed.models;
  }

  adopt(models: readonly ClusterModel[]): void {
    // One global model: it moves only if no cluster's part of it was rolled back.
    if (this.proposed && keptAll(this.proposed.models, models)) this.global = this.proposed.global;
    this.proposed = undefined;
    this.round++;
  }

  clusterModels(): ClusterModel[] {
    return this.views(this.global);
  }

  /** The width-1 global model (tests and diagnostics). */
  globalWeights(): Float32Array {
    return this.global;
  }

  private views(global: Float32Array): ClusterModel[] {
    return this.ctx.clusters.map((c) => ({ clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds, weights: this.served(global, c.widthRatio) }));
  }
}
