/**
 * One mutual-learning step split into its gradients and its update, so that a batch can be
 * cut into shards (data parallel: node-io/parallel-mutual-learning.ts). A sample's target
 * (the mean of the teachers' logits) depends on that sample only, so the full batch's gradient
 * is the shard gradients summed with weights (shard size / batch size): the same computation up
 * to float summation order.
 *
 * One forward pass per model per step: every model's logits are computed once on the tape, the
 * target is taken from them behind a zero gradient (withoutGradient), and one backward pass
 * through the sum of the learners' losses gives each learner the gradient of its own loss
 * (another model's loss reaches it only through the target, whose gradient is zero). The older
 * step ran a second, gradient-free forward of every model for the target: same values, about
 * one forward pass per model more per step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface StepRoles {
  /** Whose logits enter the target. */
  teaches: readonly boolean[];
  /** Who is updated. */
  learns: readonly boolean[];
}

export interface StepLossOptions {
  temperature: number;
  lambda: number;
}

/** Per model: KL(softmax(zAvg/T) || softmax(z/T)) averaged over the batch. [b,c] x [b,c] -> scalar. */
export function klFromTarget(targetProb: tf.Tensor2D, targetLogProb: tf.Tensor2D, logits: tf.Tensor2D, temperature: number): tf.Scalar {
  const logQ = tf.logSoftmax(tf.div(logits, temperature));
  return tf.mean(tf.sum(tf.mul(targetProb, tf.sub(targetLogProb, logQ)), 1));
}

/** log softmax(mean_k z_k / T), [b,c]. */
export function targetLogProbOf(logits: readonly tf.Tensor2D[], temperature: number): tf.Tensor2D {
  return tf.logSoftmax(tf.div(tf.addN(logits as tf.Tensor2D[]), logits.length * temperature)) as tf.Tensor2D;
}

/** targetLogProbOf with a zero gradient towards every logit: "no gradient through z_avg" (tfjs has no stopGradient). */
const targetWithoutGradient = (temperature: number) => tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const zs = args.slice(0, -1) as tf.Tensor2D[];
  return { value: targetLogProbOf(zs, temperature), gradFunc: () => zs.map((z) => tf.zerosLike(z)) };
});

export function validateStepInputs(
  models: readonly tfl.LayersModel[], x: tf.Tensor4D, yOneHot: tf.Tensor2D, opts: StepLossOptions, roles: StepRoles | undefined, fn: string,
): void {
  const { temperature: T, lambda } = opts;
  if (models.length === 0) throw new Error(`${fn}: need at least one model`);
  if (!(Number.isFinite(T) && T > 0)) throw new Error(`${fn}: temperature must be > 0, got ${T}`);
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new Error(`${fn}: lambda must be >= 0, got ${lambda}`);
  if (x.shape[0] !== yOneHot.shape[0]) throw new Error(`${fn}: x has ${x.shape[0]} samples, yOneHot has ${yOneHot.shape[0]}`);
  if (roles && !roles.teaches.some(Boolean)) throw new Error(`${fn}: no model teaches`);
  if (roles && (roles.teaches.length !== models.length || roles.learns.length !== models.length)) throw new Error(`${fn}: roles are for ${roles.teaches.length} models, got ${models.length}`);
  for (const [k, m] of models.entries()) {
    const classes = (m.outputs[0] as tfl.SymbolicTensor).shape[1];
    if (classes !== yOneHot.shape[1]) throw new Error(`${fn}: model ${k} has ${classes} classes, yOneHot has ${yOneHot.shape[1]}`);
  }
}

export interface StepGradients {
  /** Per model: gradients in trainableWeights order, or null for a model that does not learn. The caller disposes them. */
  grads: (tf.Tensor[] | null)[];
  /** Per model, measured before any update: KL to the target (unscaled, at T) and label cross-entropy, each a mean over the batch. */
  klPerModel: number[];
  cePerModel: number[];
}

/**
 * Gradients of every learner's loss T^2 KL + lambda CE on x [b,h,w,c], yOneHot [b,classes].
 * `roles` (default: everyone teaches and learns) as in mutualLearningStep.
 */
export function mutualLearningGradients(
  models: readonly tfl.LayersModel[], x: tf.Tensor4D, yOneHot: tf.Tensor2D, opts: StepLossOptions, roles?: StepRoles,
  fn = 'mutualLearningGradients',
): StepGradients {
  validateStepInputs(models, x, yOneHot, opts, roles, fn);
  const { temperature: T, lambda } = opts;
  const learns = models.map((_, k) => !roles || (roles.learns[k] as boolean));
  const vars = models.map((m, k) => (learns[k] ? m.trainableWeights.map((w) => w.read() as tf.Variable) : []));
  let measured: tf.Tensor1D | null = null;
  if (!learns.some(Boolean)) {
    measured = tf.tidy(() => {
      const logits = models.map((m) => m.apply(x, { training: true }) as tf.Tensor2D);
      const logProb = targetLogProbOf(roles ? logits.filter((_, k) => roles.teaches[k]) : logits, T);
      const prob = tf.exp(logProb) as tf.Tensor2D;
      return tf.stack([...logits.map((z) => klFromTarget(prob, logProb, z, T)), ...logits.map((z) => tf.losses.softmaxCrossEntropy(yOneHot, z))]) as tf.Tensor1D;
    });
    return { grads: models.map(() => null), ...readMeasured(measured, models.length) };
  }
  const { value, grads } = tf.variableGrads(() => {
    const logits = models.map((m) => m.apply(x, { training: true }) as tf.Tensor2D);
    const logProb = targetWithoutGradient(T)(...(roles ? logits.filter((_, k) => roles.teaches[k]) : logits)) as tf.Tensor2D;
    const prob = tf.exp(logProb) as tf.Tensor2D;
    const kls = logits.map((z) => klFromTarget(prob, logProb, z, T));
    const ces = logits.map((z) => tf.losses.softmaxCrossEntropy(yOneHot, z) as tf.Scalar);
    // [2k]: one device read per step instead of 2k; off the path to the loss, so not differentiated.
    measured = tf.keep(tf.stack([...kls, ...ces]) as tf.Tensor1D);
    const losses = logits.flatMap((_, k) => {
      if (!learns[k]) return [];
      const kl = tf.mul(kls[k] as tf.Scalar, T * T) as tf.Scalar;
      // lambda = 0 leaves the CE out of the loss (pure DML).
      return [lambda > 0 ? tf.add(kl, tf.mul(ces[k] as tf.Scalar, lambda)) as tf.Scalar : kl];
    });
    return (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
  }, vars.flat());
  value.dispose();
  return {
    grads: vars.map((vs, k) => (learns[k] ? vs.map((v) => grads[v.name] as tf.Tensor) : null)),
    ...readMeasured(measured as unknown as tf.Tensor1D, models.length),
  };
}

function readMeasured(measured: tf.Tensor1D, n: number): { klPerModel: number[]; cePerModel: number[] } {
  const values = Array.from(measured.dataSync());
  measured.dispose();
  return { klPerModel: values.slice(0, n), cePerModel: values.slice(n) };
}

/** Applies model k's gradients with optimizer k (a null entry leaves the model alone) and disposes the gradients. */
export function applyMutualLearningGradients(models: readonly tfl.LayersModel[], optimizers: readonly tf.Optimizer[], grads: readonly (tf.Tensor[] | null)[]): void {
  try {
    models.forEach((m, k) => {
      const g = grads[k];
      if (!g) return;
      const named: tf.NamedTensorMap = {};
      m.trainableWeights.forEach((w, i) => { named[(w.read() as tf.Variable).name] = g[i] as tf.Tensor; });
      (optimizers[k] as tf.Optimizer).applyGradients(named);
    });
  } finally {
    tf.dispose(grads.flatMap((g) => g ?? []));
  }
}

const sizeOf = (shape: readonly (number | null)[]): number => shape.reduce<number>((a, b) => a * (b as number), 1);

/** Floats one model's gradient takes in a flat exchange buffer (its trainable parameter count). */
export function gradientLength(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + sizeOf(w.shape), 0);
}

/** Writes the learners' gradients times `scale` into `out` (learners in model order, each in trainableWeights order) and disposes them. */
export function writeFlatGradients(grads: readonly (tf.Tensor[] | null)[], scale: number, out: Float32Array): void {
  let offset = 0;
  try {
    for (const g of grads) {
      for (const t of g ?? []) {
        const v = t.dataSync() as Float32Array;
        if (offset + v.length > out.length) throw new Error(`writeFlatGradients: gradients exceed the buffer's ${out.length} floats`);
        for (let i = 0; i < v.length; i++) out[offset + i] = scale * (v[i] as number);
        offset += v.length;
      }
    }
    if (offset !== out.length) throw new Error(`writeFlatGradients: gradients fill ${offset} of the buffer's ${out.length} floats`);
  } finally {
    tf.dispose(grads.flatMap((g) => g ?? []));
  }
}

/** The inverse of writeFlatGradients: tensors shaped like the learners' trainable weights (null for the others). */
export function readFlatGradients(models: readonly tfl.LayersModel[], learns: readonly boolean[], flat: Float32Array): (tf.Tensor[] | null)[] {
  let offset = 0;
  const out = models.map((m, k) => {
    if (!learns[k]) return null;
    return m.trainableWeights.map((w) => {
      const n = sizeOf(w.shape);
      const t = tf.tensor(flat.subarray(offset, offset + n), w.shape as number[]);
      offset += n;
      return t;
    });
  });
  if (offset !== flat.length) {
    tf.dispose(out.flatMap((g) => g ?? []));
    throw new Error(`readFlatGradients: the learners take ${offset} floats, the buffer has ${flat.length}`);
  }
  return out;
}
