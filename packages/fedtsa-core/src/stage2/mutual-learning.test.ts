import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '../model.ts';
import { extractSubmodel } from '../submodel.ts';
import { createOptimizer, disposeOptimizer, evaluate } from '../train.ts';
import { klToMean, mutualLearningStep, resolveMutualLearningOptions, runMutualLearning } from './mutual-learning.ts';
import { SyntheticPool } from './synthetic-pool.ts';
import { createToySource } from './toy-source.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 4, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };
const source = createToySource([8, 8, 1], 4);

async function toyPool(size: number, seed: number): Promise<SyntheticPool> {
  const pool = new SyntheticPool(source, { size, refreshFraction: 0.25 });
  await pool.refresh(0, seed);
  return pool;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('deep mutual learning', () => {
  const disposables: { dispose(): void }[] = [];
  const models = (...widths: number[]): tfl.LayersModel[] => {
    const out = widths.map((r, k) => buildModel(spec, r, 10 + k));
    disposables.push(...out);
    return out;
  };
  const optimizers = (n: number, kind: 'adam' | 'sgd', lr: number) => Array.from({ length: n }, () => {
    const opt = createOptimizer(kind, lr);
    disposables.push({ dispose: () => disposeOptimizer(opt) });
    return opt;
  });

  beforeAll(async () => useBackend('wasm'));
  afterEach(() => disposables.splice(0).forEach((d) => d.dispose()));

  it('pulls two models of different width together on a fixed batch', async () => {
    const pool = await toyPool(32, 1);
    const { x, y } = pool.batch(Array.from({ length: 32 }, (_, i) => i));
    const ms = models(1, 0.5);
    const opts = optimizers(2, 'adam', 1e-2);
    const before = klToMean(ms, x, 1);
    const first = mutualLearningStep(ms, opts, x, y, { temperature: 1, lambda: 0 });
    // The step reports the pre-update KL, the same quantity klToMean measures.
    first.klPerModel.forEach((kl, k) => expect(kl).toBeCloseTo(before[k] as number, 5));
    for (let s = 1; s < 20; s++) mutualLearningStep(ms, opts, x, y, { temperature: 1, lambda: 0 });
    const after = klToMean(ms, x, 1);
    expect(mean(before)).toBeGreaterThan(1e-3);
    expect(mean(after)).toBeLessThan(0.3 * mean(before));
    tf.dispose([x, y]);
  });

  it('follows the gradient of the loss with the averaged target held constant', async () => {
    const pool = await toyPool(16, 2);
    const { x, y } = pool.batch(Array.from({ length: 16 }, (_, i) => i));
    const ms = models(1, 0.5, 0.25);
    const T = 2;
    const lambda = 0.7;
    const lr = 0.1;
    const w0 = ms.map((m) => getFlatWeights(m));
    // Reference: the target as a constant tensor, so no gradient can reach it.
    const expected = tf.tidy(() => {
      const zAvg = tf.div(tf.addN(ms.map((m) => m.apply(x) as tf.Tensor2D)), ms.length);
      const p = tf.tensor(tf.softmax(tf.div(zAvg, T)).arraySync() as number[][]);
      return ms.map((m) => {
        const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => {
          const z = m.apply(x) as tf.Tensor2D;
          const kl = tf.mean(tf.sum(tf.mul(p, tf.sub(tf.log(p), tf.logSoftmax(tf.div(z, T)))), 1));
          return tf.add(tf.mul(kl, T * T), tf.mul(tf.losses.softmaxCrossEntropy(y, z), lambda)) as tf.Scalar;
        }, vars);
        return Float32Array.from(vars.flatMap((v) => Array.from((grads[v.name] as tf.Tensor).dataSync())));
      });
    });
    const sgd = ms.map(() => tf.train.sgd(lr));
    mutualLearningStep(ms, sgd, x, y, { temperature: T, lambda });
    sgd.forEach((o) => o.dispose());
    ms.forEach((m, k) => {
      const w1 = getFlatWeights(m);
      const g = expected[k] as Float32Array;
      let maxErr = 0;
      let maxStep = 0;
      for (let i = 0; i < w1.length; i++) {
        maxErr = Math.max(maxErr, Math.abs((w0[k] as Float32Array)[i]! - lr * g[i]! - w1[i]!));
        maxStep = Math.max(maxStep, Math.abs(lr * g[i]!));
      }
      expect(maxStep).toBeGreaterThan(1e-4);
      expect(maxErr).toBeLessThan(1e-3 * maxStep + 1e-6);
    });
    tf.dispose([x, y]);
  });

  it('ignores the labels when lambda = 0', async () => {
    const pool = await toyPool(16, 3);
    const { x, y } = pool.batch(Array.from({ length: 16 }, (_, i) => i));
    const wrong = tf.tidy(() => tf.reverse(y, 0));
    const run = (labels: tf.Tensor2D) => {
      const ms = models(1, 0.5);
      const opts = optimizers(2, 'adam', 1e-2);
      for (let s = 0; s < 3; s++) mutualLearningStep(ms, opts, x, labels, { temperature: 3, lambda: 0 });
      return ms.map((m) => getFlatWeights(m));
    };
    expect(run(wrong)).toEqual(run(y));
    tf.dispose([x, y, wrong]);
  });

  it('fits the generator labels with lambda > 0 and a large temperature', async () => {
    const pool = await toyPool(128, 4);
    const held = await toyPool(64, 5);
    const spec4 = spec;
    const w1 = initialWeights(spec4, 6);
    const inputs = [1, 0.5].map((r) => ({ widthRatio: r, weights: extractSubmodel(w1, spec4, r) }));
    const { weights, stats } = await runMutualLearning(inputs, spec4, pool,
      // Fresh models sit at chance, so none would teach under the rule: this tests the learning itself.
      { temperature: 8, lambda: 1, steps: 60, batchSize: 32, optimizer: 'adam', learningRate: 1e-2, teacherRule: null }, 7);
    expect(stats.steps).toBe(60);
    weights.forEach((w, k) => {
      const m = buildModel(spec4, inputs[k]!.widthRatio);
      setFlatWeights(m, w, modelManifest(spec4, inputs[k]!.widthRatio));
      expect(evaluate(m, held.data).accuracy).toBeGreaterThan(0.9);
      m.dispose();
    });
  });

  it('runs from flat weights, is deterministic, changes the weights and leaks nothing', async () => {
    const pool = await toyPool(64, 8);
    const w1 = initialWeights(spec, 9);
    const inputs = [1, 0.5, 0.25].map((r) => ({ widthRatio: r, weights: extractSubmodel(w1, spec, r) }));
    const opts = { steps: 5, batchSize: 16, lambda: 0.5, temperature: 3, teacherRule: null };
    await runMutualLearning(inputs, spec, pool, opts, 1);
    const start = tf.memory().numTensors;
    const a = await runMutualLearning(inputs, spec, pool, opts, 1);
    const b = await runMutualLearning(inputs, spec, pool, opts, 1);
    expect(tf.memory().numTensors).toBe(start);
    expect(a.weights).toEqual(b.weights);
    a.weights.forEach((w, k) => {
      expect(w.length).toBe(inputs[k]!.weights.length);
      expect(w).not.toEqual(inputs[k]!.weights);
    });
    expect(Number.isFinite(a.stats.meanKlBefore) && Number.isFinite(a.stats.meanKlAfter)).toBe(true);
    expect(a.stats.ms).toBeGreaterThanOrEqual(0);
  });

  it('with widestLearns false the widest models only teach, unless every model is as wide', async () => {
    const pool = await toyPool(48, 12);
    const w1 = initialWeights(spec, 13);
    const inputs = [1, 0.5, 1].map((r) => ({ widthRatio: r, weights: extractSubmodel(w1, spec, r) }));
    const opts = { steps: 3, batchSize: 16, teacherRule: null, widestLearns: false };
    const a = await runMutualLearning(inputs, spec, pool, opts, 1);
    expect(a.learned).toEqual([false, true, false]);
    expect(a.weights[0]).toEqual(inputs[0]!.weights);
    expect(a.weights[2]).toEqual(inputs[2]!.weights);
    expect(a.weights[1]).not.toEqual(inputs[1]!.weights);
    // The first step is the same either way (same target); later targets differ because the widest models did not move.
    const b = await runMutualLearning(inputs, spec, pool, { ...opts, widestLearns: true }, 1);
    expect(b.learned).toEqual([true, true, true]);
    expect(a.weights[1]).not.toEqual(b.weights[1]);
    const same = await runMutualLearning([inputs[0]!, inputs[2]!], spec, pool, opts, 1);
    expect(same.learned).toEqual([true, true]);
    expect(() => resolveMutualLearningOptions({ widestLearns: 'no' as unknown as boolean })).toThrow(/widestLearns must be true or false/);
  });

  it('leaks no tensors across steps once the optimizer state exists', async () => {
    const pool = await toyPool(16, 10);
    const { x, y } = pool.batch(Array.from({ length: 16 }, (_, i) => i));
    const ms = models(1, 0.25);
    const opts = optimizers(2, 'sgd', 1e-2);
    mutualLearningStep(ms, opts, x, y, { temperature: 3, lambda: 0.5 });
    const start = tf.memory().numTensors;
    for (let s = 0; s < 3; s++) mutualLearningStep(ms, opts, x, y, { temperature: 3, lambda: 0.5 });
    klToMean(ms, x, 3);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
  });

  it('rejects bad input, naming the function', async () => {
    const pool = await toyPool(16, 11);
    const { x, y } = pool.batch([0, 1, 2, 3]);
    const ms = models(1, 0.5);
    const opts = optimizers(2, 'adam', 1e-3);
    const start = tf.memory().numTensors;
    expect(() => mutualLearningStep(ms, opts.slice(0, 1), x, y, { temperature: 3, lambda: 0 })).toThrow(/mutualLearningStep: 2 models but 1/);
    expect(() => mutualLearningStep(ms, opts, x, y, { temperature: 0, lambda: 0 })).toThrow(/mutualLearningStep: temperature/);
    expect(() => mutualLearningStep(ms, opts, x, y, { temperature: -1, lambda: 0 })).toThrow(/mutualLearningStep: temperature/);
    expect(() => mutualLearningStep(ms, opts, x, y, { temperature: 1, lambda: -1 })).toThrow(/mutualLearningStep: lambda/);
    const y3 = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => mutualLearningStep(ms, opts, x, y3, { temperature: 1, lambda: 0 })).toThrow(/mutualLearningStep: x has 4 samples/);
    const y5 = tf.zeros([4, 5]) as tf.Tensor2D;
    expect(() => mutualLearningStep(ms, opts, x, y5, { temperature: 1, lambda: 0 })).toThrow(/mutualLearningStep: model 0 has 4 classes/);
    tf.dispose([y3, y5]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
    const inputs = [{ widthRatio: 0.5, weights: new Float32Array(3) }];
    await expect(runMutualLearning(inputs, spec, pool, {}, 1)).rejects.toThrow(/runMutualLearning: model 0 \(width 0.5\) has 3 weights/);
    await expect(runMutualLearning([], spec, pool, {}, 1)).rejects.toThrow(/runMutualLearning: need at least one model/);
    await expect(runMutualLearning([], { ...spec, numClasses: 3 }, pool, {}, 1)).rejects.toThrow(/runMutualLearning/);
    expect(() => resolveMutualLearningOptions({ temperature: 0 })).toThrow(/temperature must be > 0/);
    expect(() => resolveMutualLearningOptions({ steps: 1.5 })).toThrow(/steps/);
    expect(resolveMutualLearningOptions()).toMatchObject({ temperature: 3, lambda: 0.5, steps: 50, batchSize: 64, optimizer: 'sgd', learningRate: 3e-3 });
  });
});
