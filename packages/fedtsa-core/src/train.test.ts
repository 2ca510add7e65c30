import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from './architecture.ts';
import { useBackend } from './backend.ts';
import type { LabelledImages } from './data/dataset.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from './model.ts';
import { createRng } from './rng.ts';
import { extractSubmodel } from './submodel.ts';
import { evaluate, trainLocal, trainLocalAsync } from './train.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 2, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };

/** Class 0: bright top half; class 1: bright bottom half; plus noise. Learnable in a few epochs. */
function toyData(n: number, seed: number): LabelledImages {
  const rng = createRng(seed);
  const images = new Float32Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let p = 0; p < 64; p++) {
      const top = p < 32;
      images[i * 64 + p] = (top === (label === 0) ? 0.7 : 0.1) + 0.3 * rng.next();
    }
  }
  return { images, labels, count: n, height: 8, width: 8, channels: 1, numClasses: 2 };
}

describe('model and training on wasm', () => {
  beforeAll(async () => useBackend('wasm'));

  it('lists weights in manifest order and shapes, at every width', () => {
    for (const r of [1, 0.5, 0.25]) {
      const model = buildModel(spec, r);
      const manifest = modelManifest(spec, r);
      expect(model.getWeights().map((w) => w.shape)).toEqual(manifest.map((p) => p.shape));
      expect(getFlatWeights(model).length).toBe(parameterCount(manifest));
      model.dispose();
    }
  });

  it('round-trips flat weights, including submodels of a common init', () => {
    const full = initialWeights(spec, 3);
    const sub = extractSubmodel(full, spec, 0.5);
    const model = buildModel(spec, 0.5);
    setFlatWeights(model, sub, modelManifest(spec, 0.5));
    expect(getFlatWeights(model)).toEqual(sub);
    expect(() => setFlatWeights(model, full, modelManifest(spec, 1))).toThrow(/setFlatWeights/);
    model.dispose();
  });

  it('learns a toy task and leaks no tensors across calls', () => {
    const train = toyData(128, 1);
    const test = toyData(64, 2);
    const model = buildModel(spec, 1, 5);
    const before = evaluate(model, test);
    const options = { epochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' as const, rng: createRng(9) };
    trainLocal(model, train, options);
    const tensorsAfterFirst = tf.memory().numTensors;
    let batches = 0;
    for (let round = 0; round < 3; round++) trainLocal(model, train, { ...options, onBatch: () => batches++ });
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    expect(batches).toBe(3 * 8);
    const after = evaluate(model, test);
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(after.loss).toBeLessThan(before.loss);
    model.dispose();
  });

  it('is reproducible for the same seeds', () => {
    const train = toyData(64, 1);
    const run = () => {
      const model = buildModel(spec, 0.5, 2);
      trainLocal(model, train, { epochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'adam', rng: createRng(4) });
      const w = getFlatWeights(model);
      model.dispose();
      return w;
    };
    expect(run()).toEqual(run());
  });

  it('trainLocalAsync takes the same steps as trainLocal and awaits between batches', async () => {
    const train = toyData(48, 3);
    const options = { epochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' as const };
    const a = buildModel(spec, 0.5, 7);
    const b = buildModel(spec, 0.5, 7);
    trainLocal(a, train, { ...options, rng: createRng(2) });
    let waits = 0;
    const before = tf.memory().numTensors;
    await trainLocalAsync(b, train, { ...options, rng: createRng(2) }, async () => { waits++; });
    expect(tf.memory().numTensors).toBe(before);
    expect(waits).toBe(6);
    expect(getFlatWeights(b)).toEqual(getFlatWeights(a));
    a.dispose();
    b.dispose();
  });

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`fused step (${optimizer}): the same seeded loss curve and weights as tfjs autodiff, and no leaks`, () => {
      const train = toyData(96, 4);
      const run = (fusedStep: boolean) => {
        const model = buildModel(spec, 0.5, 6);
        const curve: number[] = [];
        const before = tf.memory().numTensors;
        const result = trainLocal(model, train, {
          epochs: 3, batchSize: 16, learningRate: optimizer === 'sgd' ? 0.05 : 0.005, optimizer, rng: createRng(8), fusedStep,
          onBatch: (p) => curve.push(p.loss),
        });
        expect(tf.memory().numTensors).toBe(before);
        const weights = getFlatWeights(model);
        model.dispose();
        return { curve, weights, result };
      };
      const tfjs = run(false);
      const fused = run(true);
      expect(fused.curve).toHaveLength(18);
      fused.curve.forEach((loss, i) => expect(Math.abs(loss - (tfjs.curve[i] as number))).toBeLessThan(1e-5));
      expect(Math.abs(fused.result.loss - tfjs.result.loss)).toBeLessThan(1e-5);
      expect((tfjs.curve.at(-1) as number) < (tfjs.curve[0] as number)).toBe(true);
      let worst = 0;
      fused.weights.forEach((w, i) => { worst = Math.max(worst, Math.abs(w - (tfjs.weights[i] as number))); });
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('validates its arguments', () => {
    const model = buildModel(spec, 0.25);
    const data = toyData(4, 1);
    expect(() => trainLocal(model, data, { epochs: 0, batchSize: 2, learningRate: 0.1, optimizer: 'sgd', rng: createRng(1) })).toThrow(/trainLocal: epochs/);
    expect(() => trainLocal(model, { ...data, count: 0 }, { epochs: 1, batchSize: 2, learningRate: 0.1, optimizer: 'sgd', rng: createRng(1) })).toThrow(/trainLocal: data is empty/);
    model.dispose();
  });
});
