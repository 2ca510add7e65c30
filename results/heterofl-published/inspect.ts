/** One served model's hidden units that fire on a probe batch, its logits' spread and accuracy (diagnose.ts, inspect-dumps.ts). */
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { splitFlat } from '@fedtsa/core/submodel';
import * as tf from '@tensorflow/tfjs-core';

interface LayerActivity { alive: number; units: number; firstQuarterAlive?: number; firstQuarter?: number }

/** Units of each hidden layer that fire on at least one image, and the logits' spread, for one model. */
export function inspect(spec: ModelSpec, widthRatio: number, weights: Float32Array, x: tf.Tensor4D, labels: Uint8Array) {
  const manifest = modelManifest(spec, widthRatio);
  return tf.tidy(() => {
    const [k1, b1, k2, b2, kf, bf, ko, bo] = splitFlat(weights, manifest).map((v, i) => tf.tensor(v, manifest[i]?.shape)) as tf.Tensor[];
    const a1 = tf.relu(tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same'), b1 as tf.Tensor)) as tf.Tensor4D; // [b, h, w, f1]
    const a2 = tf.relu(tf.add(tf.conv2d(tf.maxPool(a1, 2, 2, 'valid'), k2 as tf.Tensor4D, 1, 'same'), b2 as tf.Tensor)) as tf.Tensor4D;
    const p2 = tf.maxPool(a2, 2, 2, 'valid');
    const flat = tf.reshape(p2, [x.shape[0], -1]) as tf.Tensor2D;
    const hid = tf.relu(tf.add(tf.matMul(flat, kf as tf.Tensor2D), bf as tf.Tensor)) as tf.Tensor2D; // [b, hidden]
    const z = tf.add(tf.matMul(hid, ko as tf.Tensor2D), bo as tf.Tensor) as tf.Tensor2D; // [b, k]
    const fires = (t: tf.Tensor): Float32Array => tf.max(tf.reshape(t, [-1, t.shape[t.rank - 1] as number]), 0).dataSync() as Float32Array;
    const layers = [fires(a1), fires(a2), fires(hid)].map((m): LayerActivity => {
      const quarter = Math.ceil(m.length / 4);
      return { alive: m.filter((v) => v > 0).length, units: m.length, firstQuarterAlive: m.subarray(0, quarter).filter((v) => v > 0).length, firstQuarter: quarter };
    });
    const zStd = tf.mean(tf.sqrt(tf.moments(z, 0).variance)).dataSync()[0] as number;
    const predicted = tf.argMax(z, 1).dataSync();
    let hits = 0;
    predicted.forEach((p, i) => { if (p === labels[i]) hits++; });
    const hidMean = tf.mean(hid).dataSync()[0] as number;
    return { layers, zStd, accuracy: hits / labels.length, hidMean, biasFc1: Array.from(bf?.dataSync() ?? []).filter((v) => v < 0).length };
  });
}

