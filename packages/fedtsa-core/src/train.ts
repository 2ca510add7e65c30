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

/** tfjs autodiff through tfjs-layers and a tfjs optimizer: every backend, every model. */
function tfjsTrainStep(model: tfl.LayersModel, data: LabelledImages, options: TrainOptions): TrainStep {
  const optimizer = createOptimizer(options.optimizer, options.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    step(indices) {
      const { x, y } = makeBatch(data, indices);
      try {
        return optimizer.minimize(() => {
          const logits = model.apply(x, { training: true }) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        }, true, vars) as tf.Scalar;
      } finally {
        tf.dispose([x, y]);
      }
    },
    dispose: () => disposeOptimizer(optimizer),
  };
}

/** Backends whose memory JS reads without a device sync: there the fused step pays off. */
const FUSED_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * The fused step: loss and gradients from kernels/cnn-step.ts, the update in one JS pass over
 * weights kept in JS (kernels/fused-optimizer.ts), then one fresh tensor per variable (fresh,
 * not written in place, because the wasm backend caches packed XNNPACK weights by tensor).
 */
function fusedTrainStep(net: CnnNet, data: LabelledImages, options: TrainOptions, timings?: StepTimings): TrainStep {
  const backend = tf.backend();
  const backendName = tf.getBackend();
  const weights = net.variables.map((v) => v.dataSync().slice() as Float32Array);
  const optimizer = createFusedOptimizer(options.optimizer, options.learningRate, weights.map((w) => w.length));
  return {
    step(indices) {
      const x = batchImages(data, indices);
      try {
        const labels = indices.map((i) => data.labels[i] as number);
        const { loss, grads } = cnnLossAndGradients(backend, backendName, net, x, labels, [weights[6] as Float32Array, weights[7] as Float32Array], timings);
        const t0 = timings?.now() ?? 0;
        optimizer.apply(weights, grads);
        net.variables.forEach((v, i) => {
          // wasm copies the values into its heap; the cpu backend keeps the array, and `weights` changes next step.
          const w = weights[i] as Float32Array;
          const value = tf.tensor(backendName === 'wasm' ? w : w.slice(), v.shape);
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
  const net = options.fusedStep !== false && FUSED_BACKENDS.has(tf.getBackend()) ? referenceCnnOf(model) : undefined;
  return net ? fusedTrainStep(net, data, options, timings) : tfjsTrainStep(model, data, options);
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
