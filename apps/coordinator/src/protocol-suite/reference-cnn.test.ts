/**
 * The independent CNN (written from docs/protocol.md) against the project's model as the
 * oracle: the same weights in manifest order must give the same logits, and the hand-written
 * backward pass the gradients tfjs autodiff gives the tfjs-layers model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import { buildModel, getFlatWeights } from '@fedtsa/core/model';
import { logits, lossAndGrads, trainSgd, unflatten } from './reference-cnn.ts';

const SPEC: ModelSpec = { inputShape: [28, 28, 1], numClasses: 10 };

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

describe('the independent reference CNN', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  for (const widthRatio of [1, 0.25]) {
    it(`computes the project model's logits and gradients at width ${widthRatio}`, () => {
      const model = buildModel(SPEC, widthRatio, 7);
      const manifest = modelManifest(SPEC, widthRatio);
      const weights = getFlatWeights(model);
      const x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 3, 9, 5, 1], 'int32'), 10).toFloat() as tf.Tensor2D);
      const params = unflatten(weights, manifest);
      try {
        const expected = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
        const actual = tf.tidy(() => logits(params, x).dataSync() as Float32Array);
        expect(maxRelativeError(actual, expected)).toBeLessThan(1e-5);

        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const oracle = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor2D) as tf.Scalar, vars);
        const mine = lossAndGrads(params, x, y);
        expect(mine.loss.dataSync()[0]).toBeCloseTo(oracle.value.dataSync()[0] as number, 5);
        vars.forEach((v, i) => {
          const name = (manifest[i] as { name: string }).name;
          expect(maxRelativeError(mine.grads[i]?.dataSync() as Float32Array, oracle.grads[v.name]?.dataSync() as Float32Array), name).toBeLessThan(1e-4);
        });
        tf.dispose([mine.loss, ...mine.grads, oracle.value, ...Object.values(oracle.grads)]);
      } finally {
        tf.dispose([x, y, ...params]);
        model.dispose();
      }
    });
  }

  it('lowers the loss on the data it trains on and leaves no tensor behind', () => {
    const manifest = modelManifest(SPEC, 0.5);
    const model = buildModel(SPEC, 0.5, 2);
    const start = getFlatWeights(model);
    model.dispose();
    const count = 40;
    const images = Float32Array.from({ length: count * 784 }, (_, i) => ((i * 7919) % 256) / 255);
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 4);
    const data = { images, labels, count };
    const before = tf.memory().numTensors;
    const first = trainSgd(start, manifest, data, { epochs: 1, batchSize: 8, learningRate: 0.05 });
    const later = trainSgd(first.weights, manifest, data, { epochs: 3, batchSize: 8, learningRate: 0.05, momentum: 0.9 });
    expect(tf.memory().numTensors).toBe(before);
    expect(later.loss).toBeLessThan(first.loss);
    expect(() => trainSgd(start, manifest, data, { epochs: 1, batchSize: 0, learningRate: 0.05 })).toThrow(/batchSize/);
    expect(() => unflatten(start.subarray(1), manifest)).toThrow(/values, the manifest needs/);
  });
});
