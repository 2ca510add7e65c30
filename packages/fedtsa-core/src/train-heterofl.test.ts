import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from './architecture.ts';
import { useBackend } from './backend.ts';
import type { LabelledImages } from './data/dataset.ts';
import { buildModel, getFlatWeights, setFlatWeights } from './model.ts';
import { createRng } from './rng.ts';
import { foldActivationScale, heteroflLogits, presentClassMask } from './train-heterofl.ts';
import { trainLocal, type TrainOptions } from './train.ts';

// Three classes; the client's data below holds classes 0 and 1 only (class 2 is absent).
const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };
const sizes = modelManifest(spec, 0.5).map((p) => p.shape.reduce((a, b) => a * b, 1));

function twoClassData(n: number, seed: number): LabelledImages {
  const rng = createRng(seed);
  const images = new Float32Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 64; p++) images[i * 64 + p] = ((p < 32) === (i % 2 === 0) ? 0.7 : 0.1) + 0.3 * rng.next();
  }
  return { images, labels, count: n, height: 8, width: 8, channels: 1, numClasses: 3 };
}

/** The layers model's logits on `data` (the oracle: tfjs-layers, no scaler, no mask). */
function layersLogits(weights: Float32Array, data: LabelledImages): Float32Array {
  const model = buildModel(spec, 0.5);
  setFlatWeights(model, weights, modelManifest(spec, 0.5));
  const x = tf.tensor4d(data.images, [data.count, 8, 8, 1]);
  const z = model.predict(x) as tf.Tensor;
  const out = z.dataSync().slice() as Float32Array;
  tf.dispose([x, z]);
  model.dispose();
  return out;
}

function ourLogits(weights: Float32Array, data: LabelledImages, scale: number, mask?: Uint8Array): Float32Array {
  const manifest = modelManifest(spec, 0.5);
  let offset = 0;
  const vars = manifest.map((p, i) => {
    const n = sizes[i] as number;
    const t = tf.tensor(weights.subarray(offset, offset + n), p.shape);
    offset += n;
    return t;
  });
  const x = tf.tensor4d(data.images, [data.count, 8, 8, 1]);
  const z = heteroflLogits(vars, x, scale, mask);
  const out = z.dataSync().slice() as Float32Array;
  tf.dispose([x, z, ...vars]);
  return out;
}

function worstDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - (b[i] as number))); });
  return worst;
}

/** Non-zero biases, so that the scale of the biases matters. */
function startWeights(seed: number): Float32Array {
  const model = buildModel(spec, 0.5, seed);
  const w = getFlatWeights(model).map((v, i) => v + 0.05 * Math.sin(i));
  model.dispose();
  return Float32Array.from(w);
}

describe('HeteroFL local training: scaler and masked loss', () => {
  beforeAll(async () => useBackend('wasm'));

  it('finds the classes present in the data', () => {
    expect(Array.from(presentClassMask(twoClassData(6, 1)))).toEqual([1, 1, 0]);
  });

  it('scaled forward = the layers model at scale 1, and the layers model of the folded weights at scale 4', () => {
    const data = twoClassData(10, 2);
    const w = startWeights(3);
    expect(worstDifference(ourLogits(w, data, 1), layersLogits(w, data))).toBeLessThan(1e-5);
    const scaled = ourLogits(w, data, 4);
    expect(worstDifference(scaled, layersLogits(w, data))).toBeGreaterThan(1e-2); // the scale changes the function
    expect(worstDifference(scaled, layersLogits(foldActivationScale(w, sizes, 4), data))).toBeLessThan(1e-4);
    // The mask: absent classes' logits are 0, present ones untouched.
    const masked = ourLogits(w, data, 1, presentClassMask(data));
    const plain = layersLogits(w, data);
    masked.forEach((v, i) => expect(v).toBeCloseTo(i % 3 === 2 ? 0 : (plain[i] as number), 5));
  });

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`fused step with scaler and mask (${optimizer}): the same losses and folded weights as tfjs autodiff, no leaks`, () => {
      const data = twoClassData(64, 4);
      // Unfolded weights a quarter of startWeights': at 4x per layer the full ones saturate the softmax,
      // and Adam turns the rounding noise of the tiny gradients left into steps of up to its learning rate.
      const start = foldActivationScale(startWeights(5).map((v) => v / 4), sizes, 4);
      const run = (options: Partial<TrainOptions>) => {
        const model = buildModel(spec, 0.5);
        setFlatWeights(model, start, modelManifest(spec, 0.5));
        const curve: number[] = [];
        const before = tf.memory().numTensors;
        trainLocal(model, data, {
          epochs: 2, batchSize: 16, learningRate: optimizer === 'sgd' ? 0.02 : 0.002, optimizer, rng: createRng(8),
          onBatch: (p) => curve.push(p.loss), ...options,
        });
        expect(tf.memory().numTensors).toBe(before);
        const weights = getFlatWeights(model);
        model.dispose();
        return { curve, weights };
      };
      const heterofl = { activationScale: 4, maskAbsentClasses: true };
      const tfjs = run({ ...heterofl, fusedStep: false });
      const fused = run({ ...heterofl, fusedStep: true });
      expect(fused.curve).toHaveLength(8);
      fused.curve.forEach((loss, i) => expect(Math.abs(loss - (tfjs.curve[i] as number))).toBeLessThan(1e-5));
      expect(worstDifference(fused.weights, tfjs.weights)).toBeLessThan(1e-5);
      // Class 2 is absent: its logits column and bias never move.
      const hidden = 8;
      const logitsKernel = sizes.slice(0, 6).reduce((a, b) => a + b, 0);
      for (let u = 0; u < hidden; u++) expect(fused.weights[logitsKernel + u * 3 + 2]).toBe(start[logitsKernel + u * 3 + 2]);
      expect(fused.weights[logitsKernel + hidden * 3 + 2]).toBe(start[logitsKernel + hidden * 3 + 2]);
      // Both options change training (against plain training from the same start).
      const plain = run({});
      expect(worstDifference(plain.weights, fused.weights)).toBeGreaterThan(1e-3);
      expect(worstDifference(run({ activationScale: 4 }).weights, fused.weights)).toBeGreaterThan(1e-4);
    });
  }

  it('reports the masked, scaled loss of its first batch', () => {
    const data = twoClassData(16, 6);
    const start = startWeights(7);
    const model = buildModel(spec, 0.5);
    setFlatWeights(model, foldActivationScale(start, sizes, 2), modelManifest(spec, 0.5));
    let first = NaN;
    // One batch of all 16 rows, so the first loss is over `data` whatever the shuffle.
    trainLocal(model, data, { epochs: 1, batchSize: 16, learningRate: 0.01, optimizer: 'sgd', rng: createRng(1), activationScale: 2, maskAbsentClasses: true, onBatch: (p) => { first = p.loss; } });
    model.dispose();
    const z = layersLogits(foldActivationScale(start, sizes, 2), data);
    let expected = 0;
    for (let i = 0; i < data.count; i++) {
      const row = [z[i * 3] as number, z[i * 3 + 1] as number, 0]; // class 2 masked to 0
      const max = Math.max(...row);
      expected += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - (row[data.labels[i] as number] as number);
    }
    expect(first).toBeCloseTo(expected / data.count, 4);
  });

  for (const fusedStep of [true, false]) {
    it(`one SGD step (${fusedStep ? 'fused' : 'tfjs'}) steps the unfolded weights through the scaler and leaves them folded`, () => {
      const data = twoClassData(16, 9);
      const unfolded = startWeights(11);
      const lr = 0.05;
      // Oracle: w - lr * d loss / d w of the scaled, masked forward of the unfolded weights, folded.
      const manifest = modelManifest(spec, 0.5);
      let offset = 0;
      const vars = manifest.map((p, i) => {
        const n = sizes[i] as number;
        const v = tf.variable(tf.tensor(unfolded.subarray(offset, offset + n), p.shape));
        offset += n;
        return v;
      });
      const x = tf.tensor4d(data.images, [16, 8, 8, 1]);
      const y = tf.oneHot(Array.from(data.labels), 3).toFloat();
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, heteroflLogits(vars, x, 2, presentClassMask(data))) as tf.Scalar, vars);
      const stepped = Float32Array.from(vars.flatMap((v) => {
        const w = v.dataSync();
        const g = (grads[v.name] as tf.Tensor).dataSync();
        return Array.from(w, (e, j) => e - lr * (g[j] as number));
      }));
      tf.dispose([x, y, value, ...Object.values(grads), ...vars]);
      const expected = foldActivationScale(stepped, sizes, 2);

      const model = buildModel(spec, 0.5);
      setFlatWeights(model, foldActivationScale(unfolded, sizes, 2), manifest);
      trainLocal(model, data, { epochs: 1, batchSize: 16, learningRate: lr, optimizer: 'sgd', rng: createRng(3), activationScale: 2, maskAbsentClasses: true, fusedStep });
      const trained = getFlatWeights(model);
      model.dispose();
      expect(worstDifference(trained, foldActivationScale(unfolded, sizes, 2))).toBeGreaterThan(1e-3);
      expect(worstDifference(trained, expected)).toBeLessThan(1e-5);
    });
  }

  it('validates its arguments', () => {
    const model = buildModel(spec, 0.5);
    const data = twoClassData(4, 1);
    const base = { epochs: 1, batchSize: 2, learningRate: 0.1, optimizer: 'sgd' as const, rng: createRng(1) };
    expect(() => trainLocal(model, data, { ...base, activationScale: 0 })).toThrow(/createTrainStep: activationScale must be a positive number/);
    expect(() => foldActivationScale(new Float32Array(3), [1, 2], 2)).toThrow(/foldActivationScale: the reference CNN has 8 parameters/);
    model.dispose();
  });
});
