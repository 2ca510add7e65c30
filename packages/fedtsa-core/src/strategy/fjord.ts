/**
 * FjORD (Horvath et al., "FjORD: Fair and Accurate Federated Learning under heterogeneous
 * targets with Ordered Dropout", NeurIPS 2021): one width-1 global model trained with ordered
 * dropout: a width-p submodel is the first ceil(p*C) channels of every hidden layer (the nested
 * prefix of submodel.ts), and a device of maximal width p_max trains submodels of every width
 * p <= p_max on the ladder, so each prefix learns to work on its own. Aggregation: each global
 * parameter is averaged over the round's clients that updated it (as HeteroFL's rule).
 *
 * Paper defaults (section 5 and C.3; the authors' Flower baseline, adap/flower baselines/fjord:
 * ResNet-18 on CIFAR-10, SGD lr 0.1 without momentum, batch 32, 1 local epoch, 10 clients per
 * round, p in uniform-5 {0.2, 0.4, 0.6, 0.8, 1.0}, devices spread uniformly over the tiers) and
 * where this differs, with the reason:
 *   - ladder: WIDTH_LADDER {1/8, 1/4, 1/2, 1} instead of uniform-5, the widths every strategy of
 *     this repo uses (issue 18); p_max of a cluster is the rung its capability affords.
 *   - optimiser, learning rate, local epochs: the simulator's shared settings, as for every strategy.
 *   - sampling: the paper draws p ~ U(P, p <= p_max) per local batch. Our clients train one
 *     model at one width per round (the task carries one widthRatio, the browser and the
 *     simulator's workers build one model), and the round screens a cluster's updates against
 *     the one model sent to it (round/close.ts `sent`). So p is drawn per round per cluster,
 *     uniform over the rungs <= the cluster's width, from the run's seed: over rounds each
 *     cluster trains every nested prefix up to its width, at a coarser grain than per batch.
 *   - self-distillation from p_max to p (the paper's FjORD w/ KD extension): omitted; the
 *     training loop has no distillation loss.
 *   - aggregation weights: by samples, as every strategy here (the paper averages each parameter
 *     over the clients that updated it with equal weights).
 *   - the model served and evaluated per cluster: the prefix at the cluster's width (p_max), as
 *     the paper deploys a device's p_max submodel.
 * Known interaction: the arrival check's reference (round/memory.ts) is the previous round's
 * median update distance of the cluster, which may come from another drawn width.
 */
import { heteroflAggregate } from '../aggregate.ts';
import { createRng, deriveSeed, randomInt } from '../rng.ts';
import { extractSubmodel } from '../submodel.ts';
import { WIDTH_LADDER } from '../width-policy.ts';
import type { StrategyContext } from './membership.ts';
import { SharedGlobalStrategy } from './shared-global.ts';
import type { ClientUpdate, ClusterPlan } from './types.ts';

/** The ladder's rungs a cluster of maximal width `maxWidth` may train, ascending. */
export function fjordWidths(maxWidth: number, ladder: readonly number[] = WIDTH_LADDER): number[] {
  const rungs = ladder.filter((p) => p <= maxWidth + 1e-9).sort((a, b) => a - b);
  if (rungs.length === 0) throw new Error(`fjordWidths: no ladder rung <= ${maxWidth} in [${ladder.join(', ')}]`);
  return rungs;
}

export class FjordStrategy extends SharedGlobalStrategy {
  readonly name = 'fjord' as const;
  private readonly seed: number;

  constructor(ctx: StrategyContext) {
    super(ctx, 'fjord');
    if (ctx.seed === undefined) throw new Error("createStrategy: 'fjord' needs a seed (it draws the widths clients train)");
    this.seed = ctx.seed;
  }

  /** The width cluster `clusterIndex` trains in the current round: the same for all its members, drawn from (seed, round, cluster). */
  drawnWidth(clusterIndex: number): number {
    const cluster = this.ctx.clusters.find((c) => c.index === clusterIndex);
    if (!cluster) throw new Error(`drawnWidth: no cluster ${clusterIndex}`);
    const rungs = fjordWidths(cluster.widthRatio);
    return rungs[randomInt(createRng(deriveSeed(this.seed, this.round, clusterIndex)), rungs.length)] as number;
  }

  protected taskWidth(cluster: ClusterPlan): number {
    return this.drawnWidth(cluster.index);
  }

  // Updates carry the width they trained (the task's), so heteroflAggregate maps each to its prefix.
  protected aggregate(updates: readonly ClientUpdate[]): Float32Array {
    return heteroflAggregate(this.global, updates, this.ctx.spec);
  }

  protected served(global: Float32Array, widthRatio: number): Float32Array {
    return extractSubmodel(global, this.ctx.spec, widthRatio);
  }
}
