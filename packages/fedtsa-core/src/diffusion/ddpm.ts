/**
 * Class-conditional DDPM: the epsilon-prediction training loss with label dropout (for
 * classifier-free guidance) and the deterministic DDIM sampler with guidance.
 * Images live in [-1, 1] inside the model and in [0, 1] outside.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, randomInt, randomNormal, type Rng } from '../rng.ts';
import { ddimTimesteps, type NoiseSchedule } from './schedule.ts';
import { unetForward, type UNetConfig, type UNetParams } from './unet.ts';

function normals(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = randomNormal(rng);
  return out;
}

export interface NoisedBatch {
  xt: tf.Tensor4D;
  t: tf.Tensor1D;
  labels: tf.Tensor1D;
  noise: tf.Tensor4D;
}

/**
 * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps for uniform t; labels replaced by the null
 * class with probability labelDropout. All randomness from `rng`, so a step is reproducible.
 */
export function noiseBatch(
  images01: Float32Array, labels: Uint8Array, shape: [number, number, number, number],
  schedule: NoiseSchedule, numClasses: number, labelDropout: number, rng: Rng,
): NoisedBatch {
  const [b, h, w, c] = shape;
  const size = h * w * c;
  const eps = normals(rng, b * size);
  const xt = new Float32Array(b * size);
  const ts = new Float32Array(b);
  const ls = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const t = randomInt(rng, schedule.steps);
    const ab = schedule.alphaBar[t] as number;
    const sa = Math.sqrt(ab);
    const sn = Math.sqrt(1 - ab);
    for (let j = i * size; j < (i + 1) * size; j++) xt[j] = sa * ((images01[j] as number) * 2 - 1) + sn * (eps[j] as number);
    ts[i] = t;
    ls[i] = rng.next() < labelDropout ? numClasses : (labels[i] as number);
  }
  return { xt: tf.tensor4d(xt, shape), t: tf.tensor1d(ts), labels: tf.tensor1d(ls), noise: tf.tensor4d(eps, shape) };
}

/** Mean squared error between predicted and true noise. */
export function diffusionLoss(params: UNetParams, config: UNetConfig, batch: NoisedBatch): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(unetForward(params, config, batch.xt, batch.t, batch.labels), batch.noise)) as tf.Scalar);
}

export interface SampleOptions {
  /** DDIM steps (tens suffice). */
  steps: number;
  /** Classifier-free guidance scale w: eps = (1 + w) eps(y) - w eps(null). 0 = conditional only. */
  guidance: number;
  /** Samples per forward pass (x2 with guidance). */
  batchSize?: number;
}

/**
 * Deterministic DDIM (eta = 0) from seeded Gaussian noise: the same seed, labels and
 * parameters always give the same images. Returns images in [0, 1], [n, h, w, c].
 */
export function ddimSample(
  params: UNetParams, config: UNetConfig, schedule: NoiseSchedule, labels: Uint8Array, seed: number, options: SampleOptions,
): Float32Array {
  const [h, w, c] = config.imageShape;
  const size = h * w * c;
  const out = new Float32Array(labels.length * size);
  const batchSize = options.batchSize ?? 64;
  const timesteps = ddimTimesteps(schedule, options.steps);
  const rng = createRng(seed);
  for (let start = 0; start < labels.length; start += batchSize) {
    const n = Math.min(batchSize, labels.length - start);
    const batchLabels = labels.subarray(start, start + n);
    let x = tf.tensor4d(normals(rng, n * size), [n, h, w, c]);
    for (let i = 0; i < timesteps.length; i++) {
      const t = timesteps[i] as number;
      const tPrev = timesteps[i + 1];
      const ab = schedule.alphaBar[t] as number;
      const abPrev = tPrev === undefined ? 1 : (schedule.alphaBar[tPrev] as number);
      const next = tf.tidy(() => {
        const eps = guidedEps(params, config, x, t, batchLabels, options.guidance);
        const x0 = tf.clipByValue(tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - ab))), Math.sqrt(ab)), -1, 1);
        if (tPrev === undefined) return x0 as tf.Tensor4D;
        // Re-derive eps from the clipped x0 so the trajectory stays consistent with it.
        const epsClipped = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
        return tf.add(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(epsClipped, Math.sqrt(1 - abPrev))) as tf.Tensor4D;
      });
      x.dispose();
      x = next;
    }
    const images = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1));
    out.set(images.dataSync(), start * size);
    tf.dispose([x, images]);
  }
  return out;
}

function guidedEps(params: UNetParams, config: UNetConfig, x: tf.Tensor4D, t: number, labels: Uint8Array, guidance: number): tf.Tensor4D {
  const n = labels.length;
  if (guidance === 0) {
    return unetForward(params, config, x, tf.fill([n], t) as tf.Tensor1D, tf.tensor1d(Float32Array.from(labels)));
  }
  // One forward pass over [conditional; unconditional].
  const both = tf.concat([x, x], 0);
  const ls = new Float32Array(2 * n);
  ls.set(labels);
  ls.fill(config.numClasses, n);
  const eps = unetForward(params, config, both, tf.fill([2 * n], t) as tf.Tensor1D, tf.tensor1d(ls));
  const [cond, uncond] = tf.split(eps, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
  return tf.sub(tf.mul(cond, 1 + guidance), tf.mul(uncond, guidance));
}
