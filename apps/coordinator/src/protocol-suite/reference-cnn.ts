/**
 * The reference CNN of docs/protocol.md, written from the document: forward pass and a
 * hand-written backward pass with tfjs-core ops only (no autodiff, no tfjs-layers), trained
 * with SGD. Shapes for a batch of b images 28x28x1 at width ratio r (f1 = ceil(16r),
 * f2 = ceil(32r), h = ceil(128r)):
 *
 *   x [b,28,28,1] -> conv1 3x3 same + bias -> relu [b,28,28,f1] -> maxpool 2x2/2 [b,14,14,f1]
 *     -> conv2 3x3 same + bias -> relu [b,14,14,f2] -> maxpool 2x2/2 [b,7,7,f2]
 *     -> flatten (row, column, channel) [b,49*f2] -> fc1 + bias -> relu [b,h] -> logits [b,10]
 *   loss: mean over the batch of the softmax cross-entropy.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { valueCount, type WireManifestEntry } from './wire-format.ts';

const NAMES = ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'fc1/kernel', 'fc1/bias', 'logits/kernel', 'logits/bias'] as const;

/** Images scaled to [0, 1], row-major [count, 28, 28, 1], and their class indices. */
export interface LabelledData {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface SgdConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** 0 = plain SGD (the default); the project's own clients use 0.9 for 'sgd'. */
  momentum?: number;
  /** Seeds the per-epoch shuffle. */
  seed?: number;
}

type Params = tf.Tensor[];

/**
 * Picks the tfjs backend: 'wasm' (XNNPACK; ten times faster here) or 'cpu'. Without a name it
 * keeps a backend already set, else tries wasm and falls back to cpu.
 */
export async function readyBackend(name?: 'wasm' | 'cpu'): Promise<string> {
  if (name) {
    if (!(await tf.setBackend(name))) throw new Error(`readyBackend: backend '${name}' failed to initialise`);
  } else if (!(await tf.setBackend(tf.getBackend() ?? 'wasm'))) {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  return tf.getBackend();
}

/** Checks the manifest is the reference CNN's (names in order, shapes consistent) and splits the flat values. */
export function unflatten(values: Float32Array, manifest: readonly WireManifestEntry[]): Params {
  if (manifest.length !== NAMES.length || manifest.some((p, i) => p.name !== NAMES[i])) {
    throw new Error(`unflatten: manifest names [${manifest.map((p) => p.name)}] are not [${NAMES}]`);
  }
  if (values.length !== valueCount(manifest)) throw new Error(`unflatten: ${values.length} values, the manifest needs ${valueCount(manifest)}`);
  let offset = 0;
  return manifest.map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(values.slice(offset, offset + size), p.shape);
    offset += size;
    return t;
  });
}

export function flatten(params: Params): Float32Array {
  const parts = params.map((p) => p.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const pool = (a: tf.Tensor4D) => tf.maxPool(a, [2, 2], [2, 2], 'valid');

/** Every pixel of a [b,h,w,c] map repeated 2x2: [b,2h,2w,c] (nearest neighbour: source row floor(y/2)). */
function upsample(t: tf.Tensor4D): tf.Tensor4D {
  return tf.image.resizeNearestNeighbor(t, [2 * t.shape[1], 2 * t.shape[2]]);
}

/** Max-pool's gradient: each window's gradient goes to the position(s) that held its maximum. */
function unpool(dPooled: tf.Tensor4D, input: tf.Tensor4D, pooled: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(upsample(dPooled), tf.cast(tf.equal(input, upsample(pooled)), 'float32'));
}

/** d loss / d kernel of a 3x3 'same' convolution: the input (as channels-first batch) convolved with the output gradient. */
function kernelGrad(x: tf.Tensor4D, dz: tf.Tensor4D): tf.Tensor4D {
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const input = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D; // [cin, h+2, w+2, b]
  const filter = tf.transpose(dz, [1, 2, 0, 3]) as tf.Tensor4D; // [h, w, b, cout]
  return tf.transpose(tf.conv2d(input, filter, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D; // [cin,3,3,cout] -> [3,3,cin,cout]
}

/** d loss / d input of a 3x3 'same' convolution: the output gradient convolved with the kernel turned 180 degrees, in and out swapped. */
function inputGrad(dz: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(dz, tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same');
}

const reluMask = (z: tf.Tensor) => tf.cast(tf.greater(z, 0), 'float32');

export function logits(params: Params, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => forward(params, x).logits);
}

function forward(params: Params, x: tf.Tensor4D) {
  const [k1, b1, k2, b2, w3, b3, w4, b4] = params as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
  const z1 = tf.add(tf.conv2d(x, k1, 1, 'same'), b1) as tf.Tensor4D;
  const a1 = tf.relu(z1);
  const p1 = pool(a1);
  const z2 = tf.add(tf.conv2d(p1, k2, 1, 'same'), b2) as tf.Tensor4D;
  const a2 = tf.relu(z2);
  const p2 = pool(a2);
  const flat = tf.reshape(p2, [x.shape[0], -1]) as tf.Tensor2D;
  const z3 = tf.add(tf.matMul(flat, w3), b3) as tf.Tensor2D;
  const a3 = tf.relu(z3);
  return { z1, a1, p1, z2, a2, p2, flat, z3, a3, logits: tf.add(tf.matMul(a3, w4), b4) as tf.Tensor2D };
}

/** Mean cross-entropy of one batch and its gradient for every parameter, in manifest order. */
export function lossAndGrads(params: Params, x: tf.Tensor4D, y: tf.Tensor2D): { loss: tf.Scalar; grads: tf.Tensor[] } {
  return tf.tidy(() => {
    const [, , k2, , w3, , w4] = params as [tf.Tensor, tf.Tensor, tf.Tensor4D, tf.Tensor, tf.Tensor2D, tf.Tensor, tf.Tensor2D];
    const f = forward(params, x);
    const b = x.shape[0];
    const loss = tf.div(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(f.logits)))), b) as tf.Scalar;
    const dLogits = tf.div(tf.sub(tf.softmax(f.logits), y), b) as tf.Tensor2D; // [b,10]
    const dW4 = tf.matMul(f.a3, dLogits, true, false);
    const dZ3 = tf.mul(tf.matMul(dLogits, w4, false, true), reluMask(f.z3)) as tf.Tensor2D; // [b,h]
    const dW3 = tf.matMul(f.flat, dZ3, true, false);
    const dP2 = tf.reshape(tf.matMul(dZ3, w3, false, true), f.p2.shape) as tf.Tensor4D;
    const dZ2 = tf.mul(unpool(dP2, f.a2, f.p2), reluMask(f.z2)) as tf.Tensor4D; // [b,14,14,f2]
    const dP1 = inputGrad(dZ2, k2);
    const dZ1 = tf.mul(unpool(dP1, f.a1, f.p1), reluMask(f.z1)) as tf.Tensor4D; // [b,28,28,f1]
    const grads = [kernelGrad(x, dZ1), tf.sum(dZ1, [0, 1, 2]), kernelGrad(f.p1, dZ2), tf.sum(dZ2, [0, 1, 2]), dW3, tf.sum(dZ3, 0), dW4, tf.sum(dLogits, 0)];
    return { loss, grads };
  });
}

function batchTensors(data: LabelledData, rows: readonly number[]): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const size = 28 * 28;
  const xs = new Float32Array(rows.length * size);
  rows.forEach((r, i) => xs.set(data.images.subarray(r * size, (r + 1) * size), i * size));
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(rows.map((r) => data.labels[r] as number), 'int32'), 10), 'float32') as tf.Tensor2D);
  return { x: tf.tensor4d(xs, [rows.length, 28, 28, 1]), y };
}

/** A small seeded generator (mulberry32) for the shuffle: runs repeat. */
function shuffler(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Trains from `start` (flat, manifest order); returns the new flat weights and the last epoch's mean loss. */
export function trainSgd(start: Float32Array, manifest: readonly WireManifestEntry[], data: LabelledData, config: SgdConfig): { weights: Float32Array; loss: number } {
  const { epochs, batchSize, learningRate, momentum = 0 } = config;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`trainSgd: epochs must be a positive integer, got ${epochs}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`trainSgd: batchSize must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0)) throw new Error(`trainSgd: learningRate must be > 0, got ${learningRate}`);
  if (data.count < 1) throw new Error('trainSgd: no data');
  let params = unflatten(start, manifest);
  let velocity = params.map((p) => tf.zerosLike(p));
  const random = shuffler(config.seed ?? 1);
  const order = Array.from({ length: data.count }, (_, i) => i);
  let loss = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = random(i + 1);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let lossSum = 0;
      for (let from = 0; from < data.count; from += batchSize) {
        const rows = order.slice(from, from + batchSize);
        const { x, y } = batchTensors(data, rows);
        const step = lossAndGrads(params, x, y);
        lossSum += (step.loss.dataSync()[0] as number) * rows.length;
        const nextVelocity = tf.tidy(() => step.grads.map((g, i) => tf.add(tf.mul(velocity[i] as tf.Tensor, momentum), g)));
        const next = tf.tidy(() => params.map((p, i) => tf.sub(p, tf.mul(nextVelocity[i] as tf.Tensor, learningRate))));
        tf.dispose([x, y, step.loss, ...step.grads, ...params, ...velocity]);
        params = next;
        velocity = nextVelocity;
      }
      loss = lossSum / data.count;
    }
    return { weights: flatten(params), loss };
  } finally {
    tf.dispose([...params, ...velocity]);
  }
}

/** Share of `data` the weights classify correctly. */
export function accuracy(weights: Float32Array, manifest: readonly WireManifestEntry[], data: LabelledData): number {
  const params = unflatten(weights, manifest);
  let correct = 0;
  try {
    for (let from = 0; from < data.count; from += 256) {
      const rows = Array.from({ length: Math.min(256, data.count - from) }, (_, i) => from + i);
      const { x, y } = batchTensors(data, rows);
      const predicted = tf.tidy(() => tf.argMax(logits(params, x), 1).dataSync());
      rows.forEach((r, i) => { if (predicted[i] === data.labels[r]) correct++; });
      tf.dispose([x, y]);
    }
  } finally {
    tf.dispose(params);
  }
  return correct / data.count;
}
