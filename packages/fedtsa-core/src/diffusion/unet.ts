/**
 * A small class-conditional U-Net that predicts the noise of a DDPM, in plain tfjs ops over a
 * name -> variable map (no layers API: the skip connections and embeddings are easier to
 * read as code). Resolutions for 28x28 input, channels c = config.channels:
 *
 *   x [b,28,28,C] -> conv_in -> res d0 (c0)          -> skip0 [b,28,28,c0]
 *     -> avgpool -> res d1 (c1)                       -> skip1 [b,14,14,c1]
 *     -> avgpool -> res mid (c2)                      [b,7,7,c2]
 *     -> up x2, concat skip1 -> res u1 (c1)           [b,14,14,c1]
 *     -> up x2, concat skip0 -> res u0 (c0) -> GN, SiLU, conv_out -> eps [b,28,28,C]
 *
 * Every res block adds a projection of emb = MLP(sinusoid(t)) + classEmbedding[label];
 * label == numClasses is the "no label" class used for classifier-free guidance.
 * Downsampling by pooling and upsampling by nearest-neighbour resize keep every gradient
 * on kernels that the wasm backend runs fast (see kernels/).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, randomNormal } from '../rng.ts';

export interface UNetConfig {
  /** [height, width, channels]; height and width divisible by 4. */
  imageShape: [number, number, number];
  numClasses: number;
  /** Channels at 1x, 1/2x and 1/4x resolution. */
  channels: [number, number, number];
  /** Width of the time/class embedding. */
  embedDim: number;
  /** GroupNorm groups; must divide every channel count. */
  groups: number;
  /**
   * Pixel-unshuffle factor: 2 runs the network on [h/2, w/2, 4c] (a 28x28 image becomes
   * 14x14x4), which cuts the cost of the full-resolution convolutions by 4.
   */
  patchSize: 1 | 2;
}

export const DEFAULT_UNET_CONFIG: UNetConfig = {
  imageShape: [28, 28, 1], numClasses: 10, channels: [32, 64, 64], embedDim: 128, groups: 8, patchSize: 1,
};

/** Resolution the network works at, and whether it pools before the middle block. */
function innerLayout(config: UNetConfig): { h: number; w: number; ch: number; poolBeforeMid: boolean } {
  const [h, w, c] = config.imageShape;
  const p = config.patchSize;
  const ih = h / p;
  const iw = w / p;
  return { h: ih, w: iw, ch: c * p * p, poolBeforeMid: ih % 4 === 0 && iw % 4 === 0 };
}

export type UNetParams = Map<string, tf.Tensor>;

interface ParamShape { name: string; shape: number[]; init: 'he' | 'zeros' | 'ones' | 'embed' }

function resBlockShapes(prefix: string, cin: number, cout: number, embedDim: number): ParamShape[] {
  const shapes: ParamShape[] = [
    { name: `${prefix}/gn1/gamma`, shape: [cin], init: 'ones' }, { name: `${prefix}/gn1/beta`, shape: [cin], init: 'zeros' },
    { name: `${prefix}/conv1/kernel`, shape: [3, 3, cin, cout], init: 'he' }, { name: `${prefix}/conv1/bias`, shape: [cout], init: 'zeros' },
    { name: `${prefix}/emb/kernel`, shape: [embedDim, cout], init: 'he' }, { name: `${prefix}/emb/bias`, shape: [cout], init: 'zeros' },
    { name: `${prefix}/gn2/gamma`, shape: [cout], init: 'ones' }, { name: `${prefix}/gn2/beta`, shape: [cout], init: 'zeros' },
    // Zero-initialised last conv: every block starts as the identity, which keeps early training stable.
    { name: `${prefix}/conv2/kernel`, shape: [3, 3, cout, cout], init: 'zeros' }, { name: `${prefix}/conv2/bias`, shape: [cout], init: 'zeros' },
  ];
  if (cin !== cout) shapes.push({ name: `${prefix}/skip/kernel`, shape: [1, 1, cin, cout], init: 'he' }, { name: `${prefix}/skip/bias`, shape: [cout], init: 'zeros' });
  return shapes;
}

export function unetParamShapes(config: UNetConfig): ParamShape[] {
  const [c0, c1, c2] = config.channels;
  const ch = innerLayout(config).ch;
  const e = config.embedDim;
  return [
    { name: 'temb/dense1/kernel', shape: [e, e], init: 'he' }, { name: 'temb/dense1/bias', shape: [e], init: 'zeros' },
    { name: 'temb/dense2/kernel', shape: [e, e], init: 'he' }, { name: 'temb/dense2/bias', shape: [e], init: 'zeros' },
    { name: 'class/embedding', shape: [config.numClasses + 1, e], init: 'embed' },
    { name: 'conv_in/kernel', shape: [3, 3, ch, c0], init: 'he' }, { name: 'conv_in/bias', shape: [c0], init: 'zeros' },
    ...resBlockShapes('d0', c0, c0, e),
    ...resBlockShapes('d1', c0, c1, e),
    ...resBlockShapes('mid', c1, c2, e),
    ...resBlockShapes('u1', c2 + c1, c1, e),
    ...resBlockShapes('u0', c1 + c0, c0, e),
    { name: 'out/gn/gamma', shape: [c0], init: 'ones' }, { name: 'out/gn/beta', shape: [c0], init: 'zeros' },
    { name: 'conv_out/kernel', shape: [3, 3, c0, ch], init: 'zeros' }, { name: 'conv_out/bias', shape: [ch], init: 'zeros' },
  ];
}

export function validateUNetConfig(config: UNetConfig): void {
  const [h, w] = config.imageShape;
  if (config.patchSize !== 1 && config.patchSize !== 2) throw new Error(`validateUNetConfig: patchSize must be 1 or 2, got ${config.patchSize}`);
  const inner = { h: h / config.patchSize, w: w / config.patchSize };
  if (inner.h % 2 !== 0 || inner.w % 2 !== 0) {
    throw new Error(`validateUNetConfig: image height and width over patchSize must be even, got ${h}x${w} / ${config.patchSize}`);
  }
  for (const c of config.channels) {
    if (c % config.groups !== 0) throw new Error(`validateUNetConfig: groups (${config.groups}) must divide every channel count, got ${c}`);
  }
  if (config.embedDim % 2 !== 0) throw new Error(`validateUNetConfig: embedDim must be even, got ${config.embedDim}`);
}

let instances = 0;

/** Fresh parameters, deterministic for the seed. */
export function initUNet(config: UNetConfig, seed: number): UNetParams {
  validateUNetConfig(config);
  const rng = createRng(seed);
  const params: UNetParams = new Map();
  const instance = instances++; // tfjs variable names are global: keep them unique
  for (const p of unetParamShapes(config)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (p.init === 'ones') values.fill(1);
    if (p.init === 'he' || p.init === 'embed') {
      const fanIn = p.init === 'embed' ? 1 : p.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = p.init === 'embed' ? 1 : Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) values[i] = std * randomNormal(rng);
    }
    params.set(p.name, tf.variable(tf.tensor(values, p.shape), true, `ddpm${instance}/${p.name}`));
  }
  return params;
}

function get(params: UNetParams, name: string): tf.Tensor {
  const v = params.get(name);
  if (!v) throw new Error(`unet: missing parameter ${name}`);
  return v;
}

function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [b, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, 1e-5))), [b, h, w, c]);
  return tf.add(tf.mul(normed, gamma), beta);
}

function conv(params: UNetParams, name: string, x: tf.Tensor4D): tf.Tensor4D {
  return tf.add(tf.conv2d(x, get(params, `${name}/kernel`) as tf.Tensor4D, 1, 'same'), get(params, `${name}/bias`));
}

function dense(params: UNetParams, name: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, get(params, `${name}/kernel`) as tf.Tensor2D), get(params, `${name}/bias`));
}

function resBlock(params: UNetParams, prefix: string, x: tf.Tensor4D, emb: tf.Tensor2D, groups: number): tf.Tensor4D {
  const n1 = groupNorm(x, get(params, `${prefix}/gn1/gamma`), get(params, `${prefix}/gn1/beta`), groups);
  let h = conv(params, `${prefix}/conv1`, silu(n1));
  const e = dense(params, `${prefix}/emb`, silu(emb)); // [b, cout]
  h = tf.add(h, tf.reshape(e, [e.shape[0], 1, 1, e.shape[1]]));
  const n2 = groupNorm(h, get(params, `${prefix}/gn2/gamma`), get(params, `${prefix}/gn2/beta`), groups);
  h = conv(params, `${prefix}/conv2`, silu(n2));
  const skip = params.has(`${prefix}/skip/kernel`) ? conv(params, `${prefix}/skip`, x) : x;
  return tf.add(skip, h);
}

function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** Sinusoidal embedding of (float) timesteps: [b] -> [b, dim]. */
export function timestepEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = dim / 2;
  const freqs = tf.exp(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(10000) / half)); // [half]
  const args = tf.mul(tf.reshape(t, [-1, 1]), tf.reshape(freqs, [1, half])); // [b, half]
  return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
}

/** Predicted noise for x_t [b,h,w,c] at timesteps t [b] with labels [b] (numClasses = no label). */
export function unetForward(params: UNetParams, config: UNetConfig, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Tensor4D {
  const g = config.groups;
  const { h, w, poolBeforeMid } = innerLayout(config);
  const p = config.patchSize;
  const temb = timestepEmbedding(t, config.embedDim);
  const classEmb = tf.matMul(tf.oneHot(tf.cast(labels, 'int32'), config.numClasses + 1), get(params, 'class/embedding') as tf.Tensor2D);
  const emb = tf.add(dense(params, 'temb/dense2', silu(dense(params, 'temb/dense1', temb))), classEmb) as tf.Tensor2D; // [b, e]
  const x0 = conv(params, 'conv_in', p === 1 ? x : pixelUnshuffle(x, p));
  const skip0 = resBlock(params, 'd0', x0, emb, g); // [b, h, w, c0]
  const skip1 = resBlock(params, 'd1', tf.avgPool(skip0, 2, 2, 'valid'), emb, g); // [b, h/2, w/2, c1]
  let hidden = resBlock(params, 'mid', poolBeforeMid ? tf.avgPool(skip1, 2, 2, 'valid') : skip1, emb, g); // [b, h/4 or h/2, .., c2]
  if (poolBeforeMid) hidden = tf.image.resizeNearestNeighbor(hidden, [h / 2, w / 2]);
  hidden = resBlock(params, 'u1', tf.concat([hidden, skip1], 3), emb, g); // [b, h/2, w/2, c1]
  hidden = tf.concat([tf.image.resizeNearestNeighbor(hidden, [h, w]), skip0], 3);
  hidden = resBlock(params, 'u0', hidden, emb, g); // [b, h, w, c0]
  const out = conv(params, 'conv_out', silu(groupNorm(hidden, get(params, 'out/gn/gamma'), get(params, 'out/gn/beta'), g)));
  return p === 1 ? out : pixelShuffle(out, p);
}

/** [b, h, w, c] -> [b, h/p, w/p, c*p*p] with reshape and transpose (both have gradients). */
function pixelUnshuffle(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const blocks = tf.reshape(x, [b, h / p, p, w / p, p, c]);
  return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [b, h / p, w / p, p * p * c]);
}

/** The inverse of pixelUnshuffle. */
function pixelShuffle(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [b, h, w, cp] = x.shape;
  const c = cp / (p * p);
  const blocks = tf.reshape(x, [b, h, w, p, p, c]);
  return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [b, h * p, w * p, c]);
}

export function countParams(params: UNetParams): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

export function disposeUNet(params: UNetParams): void {
  for (const v of params.values()) v.dispose();
}
