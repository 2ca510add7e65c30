/**
 * HeteroFL's two changes to local training (Diao et al., ICLR 2021; reference code
 * diaoenmao/HeteroFL-..., src/modules/modules.py and src/models/conv.py), for train.ts:
 *
 *   - the scaler: while a width-r submodel trains, every hidden layer's output is divided by r
 *     (conv -> Scaler -> norm -> relu). Our CNN has no norm, so here conv1, conv2 and fc1's
 *     pre-activations are multiplied by `activationScale` = 1/r; the logits layer is not scaled
 *     (the reference scales after convs only; fc1 is our stand-in for its last conv block).
 *   - the masked cross-entropy: the logits of classes absent from the client's data are set to 0
 *     before the softmax (`out.masked_fill(label_mask == 0, 0)`), not to -inf, so they still add
 *     exp(0) to the denominator but get no gradient.
 *
 * Because relu is positively homogeneous, the scaled forward equals the plain forward of the
 * "folded" weights (hidden kernels and biases times the scale, foldActivationScale). So a scaled
 * submodel travels, is served and is evaluated as a plain model with folded weights; only its
 * training differs: the optimizer steps the unfolded weights (train.ts), as the reference does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledImages } from './data/dataset.ts';

/** Variables of the reference CNN that sit before a scaler: conv1, conv2 and fc1's kernels and biases. */
export const SCALED_VARIABLES = 6;

export function checkActivationScale(fn: string, scale: number): void {
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`${fn}: activationScale must be a positive number, got ${scale}`);
}

/** 1 for every class with at least one example in `data`, else 0 (the reference's label_split). */
export function presentClassMask(data: LabelledImages): Uint8Array {
  const mask = new Uint8Array(data.numClasses);
  for (let i = 0; i < data.count; i++) mask[data.labels[i] as number] = 1;
  return mask;
}

/**
 * The reference CNN's logits by tf ops, with the scaler on its hidden layers and absent classes'
 * logits set to 0: the autodiff path's forward when either applies. `vars` in manifest order.
 *
 *   x [b, h, w, c] -> relu(s (conv1 x + b1)) -> pool -> relu(s (conv2 . + b2)) -> pool -> flat
 *     -> relu(s (flat fc1 + bf)) -> z = hid logits + bo [b, k] -> z * mask
 */
export function heteroflLogits(vars: readonly tf.Tensor[], x: tf.Tensor4D, activationScale: number, classMask?: Uint8Array): tf.Tensor2D {
  checkActivationScale('heteroflLogits', activationScale);
  if (vars.length !== 8) throw new Error(`heteroflLogits: the reference CNN has 8 variables, got ${vars.length}`);
  return tf.tidy(() => {
    const [k1, b1, k2, b2, kf, bf, ko, bo] = vars as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    const scaled = (pre: tf.Tensor) => tf.relu(activationScale === 1 ? pre : tf.mul(pre, activationScale));
    const a1 = scaled(tf.add(tf.conv2d(x, k1, 1, 'same'), b1)) as tf.Tensor4D; // [b, h, w, f1]
    const a2 = scaled(tf.add(tf.conv2d(tf.maxPool(a1, 2, 2, 'valid'), k2, 1, 'same'), b2)) as tf.Tensor4D; // [b, h/2, w/2, f2]
    const flat = tf.reshape(tf.maxPool(a2, 2, 2, 'valid'), [x.shape[0], -1]) as tf.Tensor2D; // [b, h/4 * w/4 * f2]
    const hid = scaled(tf.add(tf.matMul(flat, kf), bf)) as tf.Tensor2D; // [b, hidden]
    const z = tf.add(tf.matMul(hid, ko), bo) as tf.Tensor2D; // [b, k]
    return classMask ? tf.mul(z, tf.tensor1d(Float32Array.from(classMask))) as tf.Tensor2D : z;
  });
}

/**
 * The plain weights whose forward is the scaled forward of `weights` (one flat vector of the
 * reference CNN, manifest order; `sizes` the element count of each of its 8 parameters).
 */
export function foldActivationScale(weights: Float32Array, sizes: readonly number[], activationScale: number): Float32Array {
  checkActivationScale('foldActivationScale', activationScale);
  if (sizes.length !== 8) throw new Error(`foldActivationScale: the reference CNN has 8 parameters, got ${sizes.length}`);
  const hidden = sizes.slice(0, SCALED_VARIABLES).reduce((a, b) => a + b, 0);
  const out = weights.slice();
  for (let i = 0; i < hidden; i++) out[i] = (out[i] as number) * activationScale;
  return out;
}
