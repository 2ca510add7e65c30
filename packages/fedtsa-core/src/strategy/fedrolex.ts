/**
 * FedRolex (Alam et al., NeurIPS 2022): one width-1 global model; in round r cluster k trains
 * the width-r_k window of every hidden layer that starts at channel r mod K (rolling-window.ts),
 * so over K rounds every channel is trained by every width, where HeteroFL trains the last
 * channels only on the widest clients. Aggregation: each global parameter is averaged over the
 * round's clients that held it (paper eq. 4).
 *
 * Paper defaults and where this differs, with the reason:
 *   - window step: one channel per round (paper's r mod K; the reference code's `overlap: None`).
 *     Same here.
 *   - aggregation weights: the paper averages holders with equal weights (reference
 *     `weighting: 'avg'`, K = 1). Here they are weighted by samples (after the round's claim
 *     cap), as fedavg-small, heterofl and fedtsa are, so the baselines differ in extraction only.
 *   - masked cross-entropy over the client's labels and static batch-norm (inherited from
 *     HeteroFL's code, `mask: 1`, `norm: bn`): absent, as in our heterofl (no batch norm in the
 *     reference model; the mask is part of issue 18's HeteroFL item, and both should get it together).
 *   - optimiser, learning rate, local epochs (reference: Adam, lr 2e-4, 1 local epoch): the
 *     simulator's shared settings, so every strategy trains alike.
 *   - the model served and evaluated per cluster: the paper evaluates the global (widest) model.
 *     Every cluster here needs a model at its own width, so a cluster is served the window of the
 *     round about to start (the one Stage 1 and the round's invariants also compare); it differs
 *     from the window last trained by one channel per layer.
 *   - the round counter advances at every `adopt`, whether or not the round kept its proposals
 *     (the paper's r counts communication rounds).
 */
import { aggregateByHolders, gatherByMap, rollingIndexMap } from './rolling-window.ts';
import type { StrategyContext } from './membership.ts';
import { SharedGlobalStrategy } from './shared-global.ts';
import type { ClientUpdate } from './types.ts';

export class FedrolexStrategy extends SharedGlobalStrategy {
  readonly name = 'fedrolex' as const;

  constructor(ctx: StrategyContext) {
    super(ctx, 'fedrolex');
  }

  /** The 0-based round whose windows tasks() hands out (tests and reports). */
  get windowRound(): number {
    return this.round;
  }

  protected aggregate(updates: readonly ClientUpdate[]): Float32Array {
    return aggregateByHolders(this.global, updates.map((u) => ({ weights: u.weights, numSamples: u.numSamples, map: rollingIndexMap(this.ctx.spec, u.widthRatio, this.round) })));
  }

  /** The window of the round in force (the one about to start: tasks and served models alike). */
  protected served(global: Float32Array, widthRatio: number): Float32Array {
    return gatherByMap(global, rollingIndexMap(this.ctx.spec, widthRatio, this.round));
  }
}
