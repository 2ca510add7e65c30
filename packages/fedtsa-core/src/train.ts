/**
 * Local training and evaluation over in-memory datasets. Leak-free: every call leaves
 * tf.memory().numTensors as it found it (tests assert this).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabelledImages } from './data/dataset.ts';
import { cnnLossAndGradients, recordPhase, referenceCnnOf, type CnnNet, type StepTimings } from './kernels/cnn-step.ts';
import { createFusedOptimizer } from './kernels/fused-optimizer.ts';
import { deriveSeed, shuffleInPlace, type Rng } from './rng.ts';
import { checkActivationScale, heteroflLogits, presentClassMask, SCALED_VARIABLES } from './train-heterofl.ts';

export interface TrainOptions {
  /** Passes over the local data. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** 'sgd' uses momentum 0.9; optimizer state starts fresh at every call (one FL round). */
  optimizer: 'sgd' | 'adam';
  rng: Rng;
  /** Called after every batch; cheap (the loss is read once per batch anyway). */
  onBatch?: (progress: BatchProgress) => void;
  /**
   * The fused step (kernels/cnn-step.ts) where it applies: the reference CNN on wasm or cpu.
   * Default true; false forces tfjs autodiff and optimizers. Same results within float32 rounding.
   */
  fusedStep?: boolean;
  /**
   * HeteroFL's scaler s (train-heterofl.ts), 1/r for a width-r submodel; default 1 (none); the
   * reference CNN only. The model holds folded weights (hidden layers times s, so its plain
   * forward is the scaled forward of the unfolded ones); training steps the unfolded weights,
   * as the reference does through its Scaler, and leaves the model folded.
   */
  activationScale?: number;
  /** HeteroFL's masked cross-entropy: the logits of classes absent from `data` are 0 in the loss. Default false. */
  maskAbsentClasses?: boolean;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  samplesSeen: number;
}

export interface TrainResult {
  /** Mean training loss over the last epoch. */
  loss: number;
  samplesSeen: number;
}

export function createOptimizer(kind: TrainOptions['optimizer'], learningRate: number): tf.Optimizer {
  if (!(learningRate > 0)) throw new Error(`createOptimizer: learningRate must be > 0, got ${learningRate}`);
  return kind === 'adam' ? tf.train.adam(learningRate) : tf.train.momentum(learningRate, 0.9);
}

/**
 * tfjs 4.22's MomentumOptimizer.dispose() forgets its parent's learning-rate scalar `c`, one
 * leaked tensor per optimizer; dispose it too.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  const c = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (c !== undefined && !c.isDisposed) c.dispose();
}

/** Copies the images of rows `indices` into a batch tensor [b,h,w,c]. */
function batchImages(data: LabelledImages, indices: ArrayLike<number>): tf.Tensor4D {
  const size = data.height * data.width * data.channels;
  const n = indices.length;
  const xs = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    const row = indices[i] as number;
    xs.set(data.images.subarray(row * size, (row + 1) * size), i * size);
  }
  return tf.tensor4d(xs, [n, data.height, data.width, data.channels]);
}

/** Copies the rows `indices` of the dataset into a batch tensor pair [b,h,w,c] and one-hot [b,k]. */
export function makeBatch(data: LabelledImages, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = indices.length;
  const ys = new Float32Array(n * data.numClasses);
  for (let i = 0; i < n; i++) ys[i * data.numClasses + (data.labels[indices[i] as number] as number)] = 1;
  return { x: batchImages(data, indices), y: tf.tensor2d(ys, [n, data.numClasses]) };
}

/** One optimizer step on the rows `indices`; returns the batch's mean loss, on the device or already read. */
export interface TrainStep {
  step(indices: readonly number[]): tf.Scalar | number;
  dispose(): void;
}

/**
 * tfjs autodiff through tfjs-layers and a tfjs optimizer: every backend, every model. With
 * HeteroFL's scaler s it steps unfolded copies of the variables (the model's divided by s)
 * through the scaled forward and writes the folded values back to the model after every step.
 */
function tfjsTrainStep(model: tfl.LayersModel, data: LabelledImages, options: TrainOptions, classMask?: Uint8Array): TrainStep {
  const optimizer = createOptimizer(options.optimizer, options.learningRate);
  const modelVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const scale = options.activationScale ?? 1;
  const unfold = (v: tf.Variable, i: number) => {
    const value = i < SCALED_VARIABLES ? tf.div(v, scale) : v.clone();
    const copy = tf.variable(value);
    value.dispose();
    return copy;
  };
  const vars = scale === 1 ? modelVars : modelVars.map(unfold);
  // HeteroFL's scaler or mask: the reference CNN's forward by tf ops (train-heterofl.ts); else the layers model's.
  const forward = scale !== 1 || classMask
    ? (x: tf.Tensor4D) => heteroflLogits(vars, x, scale, classMask)
    : (x: tf.Tensor4D) => model.apply(x, { training: true }) as tf.Tensor2D;
  return {
    step(indices) {
      const { x, y } = makeBatch(data, indices);
      try {
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar, true, vars) as tf.Scalar;
        if (scale !== 1) tf.tidy(() => modelVars.forEach((v, i) => v.assign(i < SCALED_VARIABLES ? tf.mul(vars[i] as tf.Variable, scale) : vars[i] as tf.Variable)));
        return loss;
      } finally {
        tf.dispose([x, y]);
      }
    },
    dispose: () => {
      disposeOptimizer(optimizer);
      if (scale !== 1) tf.dispose(vars);
    },
  };
}

/** Backends whose memory JS reads without a device sync: there the fused step pays off. */
const FUSED_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * The fused step: loss and gradients from kernels/cnn-step.ts, the update in one JS pass over
 * weights kept in JS (kernels/fused-optimizer.ts), then one fresh tensor per variable (fresh,
 * not written in place, because the wasm backend caches packed XNNPACK weights by tensor).
 * With HeteroFL's scaler s the variables hold the folded weights (whose plain forward is the
 * scaled one) and the optimizer steps the unfolded ones w, with d loss / d w = s d loss / d (s w).
 */
function fusedTrainStep(net: CnnNet, data: LabelledImages, options: TrainOptions, timings?: StepTimings, classMask?: Uint8Array): TrainStep {
  const backend = tf.backend();
  const backendName = tf.getBackend();
  const scale = options.activationScale ?? 1;
  const weights = net.variables.map((v, i) => {
    const w = v.dataSync().slice() as Float32Array;
    return scale !== 1 && i < SCALED_VARIABLES ? w.map((e) => e / scale) : w;
  });
  const optimizer = createFusedOptimizer(options.optimizer, options.learningRate, weights.map((w) => w.length));
  return {
    step(indices) {
      const x = batchImages(data, indices);
      try {
        const labels = indices.map((i) => data.labels[i] as number);
        const { loss, grads } = cnnLossAndGradients(backend, backendName, net, x, labels, [weights[6] as Float32Array, weights[7] as Float32Array], timings, classMask);
        const t0 = timings?.now() ?? 0;
        if (scale !== 1) for (const g of grads.slice(0, SCALED_VARIABLES)) for (let j = 0; j < g.length; j++) g[j] = (g[j] as number) * scale;
        optimizer.apply(weights, grads);
        net.variables.forEach((v, i) => {
          // wasm copies the values into its heap; the cpu backend keeps the array, and `weights` changes next step.
          const w = weights[i] as Float32Array;
          const values = scale !== 1 && i < SCALED_VARIABLES ? w.map((e) => e * scale) : backendName === 'wasm' ? w : w.slice();
          const value = tf.tensor(values, v.shape);
          v.assign(value);
          value.dispose();
        });
        recordPhase(timings, 'optimizer update (JS)', t0);
        return loss;
      } finally {
        x.dispose();
      }
    },
    dispose: () => {},
  };
}

/** The step trainLocal uses for this model on the current backend (the fused one where it applies). */
export function createTrainStep(model: tfl.LayersModel, data: LabelledImages, options: TrainOptions, timings?: StepTimings): TrainStep {
  const scale = options.activationScale ?? 1;
  checkActivationScale('createTrainStep', scale);
  const classMask = options.maskAbsentClasses ? presentClassMask(data) : undefined;
  if ((scale !== 1 || classMask) && !referenceCnnOf(model)) throw new Error('createTrainStep: activationScale and maskAbsentClasses need the reference CNN (model.ts)');
  const net = options.fusedStep !== false && FUSED_BACKENDS.has(tf.getBackend()) ? referenceCnnOf(model) : undefined;
  return net ? fusedTrainStep(net, data, options, timings, classMask) : tfjsTrainStep(model, data, options, classMask);
}

/** One batch's step, handed to the driver: it reads `cost` (sync or async; a number is read already), disposes it and sends the value back. */
export interface PendingStep {
  cost: tf.Scalar | number;
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  samples: number;
}

/**
 * The training loop as a generator: one yield per batch, with the loss left on the device so
 * that the driver decides how to read it. trainLocal reads synchronously; trainLocalAsync
 * awaits the read (WebGPU in a worker cannot read synchronously) and its own hook.
 */
export function* trainingSteps(model: tfl.LayersModel, data: LabelledImages, options: TrainOptions): Generator<PendingStep, TrainResult, number> {
  const { epochs, batchSize } = options;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`trainLocal: epochs must be a positive integer, got ${epochs}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`trainLocal: batchSize must be a positive integer, got ${batchSize}`);
  if (data.count === 0) throw new Error('trainLocal: data is empty');
  const trainStep = createTrainStep(model, data, options);
  const order = Array.from({ length: data.count }, (_, i) => i);
  const batchesPerEpoch = Math.ceil(data.count / batchSize);
  let samplesSeen = 0;
  let lastEpochLoss = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffleInPlace(options.rng, order);
      let lossSum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const idx = order.slice(b * batchSize, (b + 1) * batchSize);
        const cost = trainStep.step(idx);
        const loss: number = yield { cost, epoch, batch: b, batchesPerEpoch, samples: idx.length };
        lossSum += loss * idx.length;
        samplesSeen += idx.length;
        options.onBatch?.({ epoch, batch: b, batchesPerEpoch, loss, samplesSeen });
      }
      lastEpochLoss = lossSum / data.count;
    }
  } finally {
    trainStep.dispose();
  }
  return { loss: lastEpochLoss, samplesSeen };
}

function readAndDispose(cost: tf.Scalar): number {
  const loss = cost.dataSync()[0] as number;
  cost.dispose();
  return loss;
}

async function readAndDisposeAsync(cost: tf.Scalar): Promise<number> {
  const loss = (await cost.data())[0] as number;
  cost.dispose();
  return loss;
}

export function trainLocal(model: tfl.LayersModel, data: LabelledImages, options: TrainOptions): TrainResult {
  const steps = trainingSteps(model, data, options);
  let next = steps.next();
  while (!next.done) {
    const { cost } = next.value;
    const loss = typeof cost === 'number' ? cost : readAndDispose(cost);
    next = steps.next(loss);
  }
  return next.value;
}

/** trainLocal with asynchronous reads that awaits `between` after every batch (pause, or let messages in). */
export async function trainLocalAsync(
  model: tfl.LayersModel, data: LabelledImages, options: TrainOptions, between: () => Promise<void>,
): Promise<TrainResult> {
  const steps = trainingSteps(model, data, options);
  let next = steps.next();
  while (!next.done) {
    const { cost } = next.value;
    const loss = typeof cost === 'number' ? cost : await readAndDisposeAsync(cost);
    await between();
    next = steps.next(loss);
  }
  return next.value;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  count: number;
}

/** Accuracy and mean cross-entropy of the model's logits over the whole dataset. */
/**
 * The seed of a client's batch order in a round: it depends only on the round and the client's
 * sample count, so a client's round is reproducible and every runner (browser, virtual client,
 * simulation) trains the same update from the same task and data.
 */
export function localTrainingSeed(round: number, samples: number): number {
  return deriveSeed(round, samples);
}

/** One evaluation batch's hit count and summed loss, left on the device for the caller to read. */
function scoreBatch(model: tfl.LayersModel, data: LabelledImages, start: number, batchSize: number): [tf.Scalar, tf.Scalar] {
  const idx = Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
  const { x, y } = makeBatch(data, idx);
  try {
    return tf.tidy(() => {
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      return [
        tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32')),
        tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM),
      ];
    }) as [tf.Scalar, tf.Scalar];
  } finally {
    tf.dispose([x, y]);
  }
}

export function evaluate(model: tfl.LayersModel, data: LabelledImages, batchSize = 500): Evaluation {
  if (data.count === 0) throw new Error('evaluate: data is empty');
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const [hits, loss] = scoreBatch(model, data, start, batchSize);
    correct += hits.dataSync()[0] as number;
    lossSum += loss.dataSync()[0] as number;
    tf.dispose([hits, loss]);
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, count: data.count };
}

/** evaluate with asynchronous reads (WebGPU in a worker cannot read synchronously). */
export async function evaluateAsync(model: tfl.LayersModel, data: LabelledImages, batchSize = 500): Promise<Evaluation> {
  if (data.count === 0) throw new Error('evaluate: data is empty');
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const [hits, loss] = scoreBatch(model, data, start, batchSize);
    try {
      correct += (await hits.data())[0] as number;
      lossSum += (await loss.data())[0] as number;
    } finally {
      tf.dispose([hits, loss]);
    }
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, count: data.count };
}
