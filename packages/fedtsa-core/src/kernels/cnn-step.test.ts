import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, setFlatWeights } from '../model.ts';
import { modelManifest } from '../architecture.ts';
import { createRng, randomNormal } from '../rng.ts';
import { cnnLossAndGradients, referenceCnnOf } from './cnn-step.ts';

function randomArray(seed: number, n: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * randomNormal(rng));
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  expect(worst / scale, what).toBeLessThan(1e-4);
}

/** Loss and gradients by tfjs autodiff through tfjs-layers, on the stock cpu kernels: the oracle. */
function autodiffOnCpu(spec: ModelSpec, width: number, weights: Float32Array, images: Float32Array, labels: number[]) {
  const model = buildModel(spec, width);
  setFlatWeights(model, weights, modelManifest(spec, width));
  const [h, w, c] = spec.inputShape;
  const x = tf.tensor4d(images, [labels.length, h, w, c]);
  const y = tf.oneHot(labels, spec.numClasses).toFloat();
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
  const names = model.trainableWeights.map((v) => (v.read() as tf.Variable).name);
  const result = { loss: value.dataSync()[0] as number, grads: names.map((n) => (grads[n] as tf.Tensor).dataSync().slice() as Float32Array) };
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return result;
}

const cases: { name: string; spec: ModelSpec; width: number; batch: number; backend?: 'cpu' }[] = [
  // f1 = 2: conv1's gradient in JS (conv1BackwardThroughPool).
  { name: 'grey 12x12, narrow (conv1 in JS)', spec: { inputShape: [12, 12, 1], numClasses: 5, conv1Filters: 4, conv2Filters: 6, hiddenUnits: 10 }, width: 0.5, batch: 6 },
  // 3 channels, 32 x 28 x 28 x 16 x 9 x 1 work > the JS limit: conv1's gradient through the kernels.
  { name: 'colour 8x12, wide batch (conv1 by kernels)', spec: { inputShape: [8, 12, 3], numClasses: 4, conv1Filters: 16, conv2Filters: 8, hiddenUnits: 12 }, width: 1, batch: 80 },
  // The fused step on the cpu backend itself (plain JS arrays instead of wasm heap views).
  { name: 'on the cpu backend', spec: { inputShape: [8, 8, 2], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 6 }, width: 1, batch: 70, backend: 'cpu' },
];

describe('fused CNN step', () => {
  beforeAll(async () => useBackend('wasm'));

  for (const c of cases) {
    it(`matches tfjs autodiff on stock cpu kernels: ${c.name}`, async () => {
      const [h, w, ch] = c.spec.inputShape;
      const images = randomArray(11, c.batch * h * w * ch);
      const labels = Array.from({ length: c.batch }, (_, i) => (i * 3) % c.spec.numClasses);
      await (c.backend === 'cpu' ? tf.setBackend('cpu') : useBackend('wasm'));
      const model = buildModel(c.spec, c.width, 3);
      // Larger biases than the zero init, so relu masks and pool maxima are not all trivial.
      const weights = getFlatWeights(model).map((v, i) => v + 0.05 * Math.sin(i));
      setFlatWeights(model, Float32Array.from(weights), modelManifest(c.spec, c.width));
      const net = referenceCnnOf(model);
      expect(net).toBeDefined();
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(images, [c.batch, h, w, ch]);
      const values = net!.variables.map((v) => v.dataSync().slice() as Float32Array);
      const buffers = tf.backend().numDataIds(); // kernels called directly: the backend's own count shows leaks
      const fused = cnnLossAndGradients(tf.backend(), tf.getBackend(), net!, x, labels, [values[6]!, values[7]!]);
      expect(tf.backend().numDataIds()).toBe(buffers);
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const flat = getFlatWeights(model);
      model.dispose();

      await tf.setBackend('cpu');
      const oracle = autodiffOnCpu(c.spec, c.width, flat, images, labels);
      await useBackend('wasm');
      expect(Math.abs(fused.loss - oracle.loss)).toBeLessThan(1e-5 * Math.max(1, oracle.loss));
      fused.grads.forEach((g, i) => expectClose(g, oracle.grads[i]!, `gradient ${i}`));
      expect(fused.grads.every((g) => g.some((v) => v !== 0))).toBe(true);
    });
  }

  it('masked cross-entropy (classMask): matches autodiff of the logits with masked classes set to 0', async () => {
    const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 5, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 8 };
    const batch = 12;
    const images = randomArray(21, batch * 64);
    const labels = Array.from({ length: batch }, (_, i) => [0, 2, 3][i % 3] as number);
    const mask = [1, 0, 1, 1, 0];
    await useBackend('wasm');
    const model = buildModel(spec, 1, 4);
    setFlatWeights(model, Float32Array.from(getFlatWeights(model).map((v, i) => v + 0.05 * Math.sin(i))), modelManifest(spec, 1));
    const net = referenceCnnOf(model)!;
    const values = net.variables.map((v) => v.dataSync().slice() as Float32Array);
    const x = tf.tensor4d(images, [batch, 8, 8, 1]);
    const fused = cnnLossAndGradients(tf.backend(), tf.getBackend(), net, x, labels, [values[6]!, values[7]!], undefined, mask);
    const unmasked = cnnLossAndGradients(tf.backend(), tf.getBackend(), net, x, labels, [values[6]!, values[7]!]);
    expect(() => cnnLossAndGradients(tf.backend(), 'wasm', net, x, labels, [values[6]!, values[7]!], undefined, [1, 1])).toThrow(/classMask has 2 entries for 5 classes/);
    x.dispose();
    const flat = getFlatWeights(model);
    model.dispose();

    await tf.setBackend('cpu');
    const oracleModel = buildModel(spec, 1);
    setFlatWeights(oracleModel, flat, modelManifest(spec, 1));
    const xc = tf.tensor4d(images, [batch, 8, 8, 1]);
    const y = tf.oneHot(labels, 5).toFloat();
    const m = tf.tensor1d(mask, 'float32');
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, tf.mul(oracleModel.apply(xc) as tf.Tensor, m)) as tf.Scalar);
    const names = oracleModel.trainableWeights.map((v) => (v.read() as tf.Variable).name);
    const oracle = { loss: value.dataSync()[0] as number, grads: names.map((n) => (grads[n] as tf.Tensor).dataSync().slice() as Float32Array) };
    tf.dispose([xc, y, m, value, ...Object.values(grads)]);
    oracleModel.dispose();
    await useBackend('wasm');

    expect(Math.abs(fused.loss - oracle.loss)).toBeLessThan(1e-5 * Math.max(1, oracle.loss));
    fused.grads.forEach((g, i) => expectClose(g, oracle.grads[i]!, `gradient ${i}`));
    expect(Math.abs(fused.loss - unmasked.loss)).toBeGreaterThan(1e-3);
    // Masked classes get no gradient in the logits layer: kernel columns 1 and 4 [hidden, 5], bias entries 1 and 4.
    for (let u = 0; u < 8; u++) for (const j of [1, 4]) expect(fused.grads[6]![u * 5 + j]).toBe(0);
    expect([fused.grads[7]![1], fused.grads[7]![4]]).toEqual([0, 0]);
  });

  it('recognises only the reference CNN', () => {
    const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 2, conv2Filters: 2, hiddenUnits: 4 };
    const reference = buildModel(spec, 1);
    expect(referenceCnnOf(reference)?.f1).toBe(2);
    reference.dispose();
    const tanh = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], kernelSize: 3, filters: 2, padding: 'same', activation: 'tanh' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ kernelSize: 3, filters: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 4, activation: 'relu' }),
      tfl.layers.dense({ units: 3 }),
    ] });
    expect(referenceCnnOf(tanh)).toBeUndefined();
    tanh.dispose();
    const dense = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2 })] });
    expect(referenceCnnOf(dense)).toBeUndefined();
    dense.dispose();
  });

  it('rejects a label count that is not the batch size', () => {
    const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 2, conv2Filters: 2, hiddenUnits: 4 };
    const model = buildModel(spec, 1);
    const net = referenceCnnOf(model)!;
    const x = tf.zeros([2, 8, 8, 1]);
    expect(() => cnnLossAndGradients(tf.backend(), 'wasm', net, x, [0], [new Float32Array(12), new Float32Array(3)])).toThrow(/cnnLossAndGradients: 1 labels for a batch of 2/);
    x.dispose();
    model.dispose();
  });
});
