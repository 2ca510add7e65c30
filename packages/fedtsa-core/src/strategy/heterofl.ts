/**
 * HeteroFL (Diao, Ding and Tarokh, ICLR 2021): one width-1 global model; a width-r client trains
 * its nested submodel (the first ceil(r C) channels of every hidden layer), and each global
 * element is averaged over the round's clients that held it (aggregate.ts heteroflAggregate).
 *
 * What the published method does (reference code diaoenmao/HeteroFL-Computation-and-
 * Communication-Efficient-Federated-Learning-for-Heterogeneous-Clients, src/) and how this differs:
 *   - nested submodels, classes never pruned (fed.py split_model): the same.
 *   - the scaler (modules.py Scaler, conv.py): while a width-r submodel trains, every hidden conv's
 *     output is divided by r (conv -> Scaler -> BN -> relu), identity at inference. Here conv1,
 *     conv2 and fc1's pre-activations are multiplied by 1/r (train-heterofl.ts); fc1 too because
 *     it stands for the reference's last conv block (its Conv has no hidden dense layer). Since
 *     relu commutes with a positive scale, the scaled submodel is a plain model with "folded"
 *     weights (hidden kernels and biases times 1/r): a width-r cluster is sent and served the
 *     folded submodel, its clients train it with TrainingChanges.activationScale = 1/r (which
 *     steps the unfolded weights, as the reference does) and return it folded, and Stage 1
 *     unfolds every update before averaging. A client that ignores the change (the coordinator's
 *     wire does not carry it yet) trains the same function plainly: same forward, but hidden
 *     layers learn r^2 times as fast in the global model's terms.
 *   - inference: the reference evaluates only the global model (rate 1, where the scaler is the
 *     identity). Every cluster here is served its width-r submodel, and without batch norm a
 *     submodel run without its scaler is another function (each hidden layer's output shrinks by
 *     r, its bias does not), so it is served folded: the function its clients trained.
 *   - static batch norm (conv.py `track_running_stats=False`, statistics queried after training
 *     in train_classifier_fed.py stats()): none, because the reference CNN (architecture.ts) has
 *     no normalisation layer; the reference offers `norm: none` too. With BN the scaler is
 *     almost a no-op in training (BN divides it out); without BN it is what keeps a submodel's
 *     activations at the full model's scale.
 *   - masked cross-entropy (conv.py, `mask: 1`): the logits of classes absent from the client's
 *     data are set to 0 in the loss. The same (TrainingChanges.maskAbsentClasses), for every client
 *     as in the reference. Evaluation is never masked (a cluster's model must tell all classes).
 *   - aggregation (fed.py combine): holders of an element count equally, and a logits-layer row
 *     is averaged only over the clients holding that label. Here holders are weighted by
 *     samples (after the round's claim cap), as in every strategy here, and the logits rows over
 *     all holders: updates carry no label set (nor does the wire). A masked class's row comes
 *     back unchanged, so it pulls that row towards the round's start by its client's share.
 *   - local training (utils.py process_control, MNIST: SGD lr 1e-2, momentum 0.9, weight decay
 *     5e-4, batch 10, 5 epochs, gradient norm clipped at 1): the simulator's shared settings
 *     (SGD lr 0.1, momentum 0.9, batch 32, 1 epoch, no decay, no clipping), so every strategy
 *     trains alike.
 *   - client widths: fixed proportions of rates a-e in the reference, the KDE clusters' here.
 * `scaler: false, maskedLoss: false` ('plain', the default, see HETEROFL_VARIANTS) is the HeteroFL
 * of results/fmnist-stage2. Measured (results/heterofl-published): that table's seed-3 collapse
 * (width 1/4 at chance) was dead conv2 units of one trajectory at lr 0.1, gone at HEAD; the
 * scaler at lr 0.1 kills the width-1/4 submodel in its first round (its steps are 1/r^2 times
 * larger in the folded weights), and the mask alone changed little.
 */
import { heteroflAggregate } from '../aggregate.ts';
import { modelManifest } from '../architecture.ts';
import { extractSubmodel } from '../submodel.ts';
import { foldActivationScale } from '../train-heterofl.ts';
import type { StrategyContext } from './membership.ts';
import { SharedGlobalStrategy } from './shared-global.ts';
import type { ClientTask, ClientUpdate, TrainingChanges } from './types.ts';

export interface HeteroflOptions {
  /** The scaler: width-r clients train with activations times 1/r, and clusters are served the folded submodel. */
  scaler: boolean;
  /** The masked cross-entropy over the classes in each client's data. */
  maskedLoss: boolean;
}

/**
 * Named variants (the simulator's --heterofl). The default is 'plain': with the simulator's shared
 * SGD lr 0.1 the scaler kills the width-1/4 submodel in its first round (every conv unit dead;
 * results/heterofl-published/README.md), so the published method would be a weaker baseline here.
 */
export const HETEROFL_VARIANTS = {
  plain: { scaler: false, maskedLoss: false },
  mask: { scaler: false, maskedLoss: true },
  scaler: { scaler: true, maskedLoss: false },
  published: { scaler: true, maskedLoss: true },
} as const satisfies Record<string, HeteroflOptions>;
export type HeteroflVariant = keyof typeof HETEROFL_VARIANTS;

export class HeteroflStrategy extends SharedGlobalStrategy {
  readonly name = 'heterofl' as const;

  constructor(ctx: StrategyContext, private readonly options: HeteroflOptions = HETEROFL_VARIANTS.plain) {
    super(ctx, 'heterofl');
  }

  /** What a width-r client changes in its local training. */
  trainingChanges(widthRatio: number): TrainingChanges | undefined {
    const changes: TrainingChanges = {};
    if (this.options.scaler && widthRatio < 1) changes.activationScale = 1 / widthRatio;
    if (this.options.maskedLoss) changes.maskAbsentClasses = true;
    return Object.keys(changes).length > 0 ? changes : undefined;
  }

  protected taskExtras(widthRatio: number): Partial<ClientTask> {
    const training = this.trainingChanges(widthRatio);
    return training ? { training } : {};
  }

  protected aggregate(updates: readonly ClientUpdate[]): Float32Array {
    const unfolded = updates.map((u) => {
      const scale = this.trainingChanges(u.widthRatio)?.activationScale;
      return scale === undefined ? u : { ...u, weights: foldActivationScale(u.weights, this.sizes(u.widthRatio), 1 / scale) };
    });
    return heteroflAggregate(this.global, unfolded, this.ctx.spec);
  }

  /** What a width-r cluster is sent and served: the submodel, folded with its scaler when clients train with one. */
  protected served(global: Float32Array, widthRatio: number): Float32Array {
    const sub = extractSubmodel(global, this.ctx.spec, widthRatio);
    const scale = this.trainingChanges(widthRatio)?.activationScale;
    return scale === undefined ? sub : foldActivationScale(sub, this.sizes(widthRatio), scale);
  }

  private sizes(widthRatio: number): number[] {
    return modelManifest(this.ctx.spec, widthRatio).map((p) => p.shape.reduce((a, b) => a * b, 1));
  }
}
