import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '../model.ts';
import { createRng } from '../rng.ts';
import { extractSubmodel } from '../submodel.ts';
import { trainLocal } from '../train.ts';
import { runMutualLearning } from './mutual-learning.ts';
import { SyntheticPool } from './synthetic-pool.ts';
import { DEFAULT_TEACHER_RULE, learnersOf, screenTeachers, type TeacherScreen } from './teachers.ts';
import { createToySource } from './toy-source.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 4, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };
const source = createToySource([8, 8, 1], 4);
const rule = DEFAULT_TEACHER_RULE;

/** A model of width `r` trained on the toy task until it knows it: what an honest cluster sends. */
async function trained(r: number, seed: number): Promise<Float32Array> {
  const data = await source.sample(Uint8Array.from({ length: 64 }, (_, i) => i % 4), seed);
  const model = buildModel(spec, r);
  setFlatWeights(model, extractSubmodel(initialWeights(spec, seed), spec, r), modelManifest(spec, r));
  trainLocal(model, data, { epochs: 15, batchSize: 16, learningRate: 0.1, optimizer: 'sgd', rng: createRng(seed) });
  const w = getFlatWeights(model);
  model.dispose();
  return w;
}

async function screen(inputs: { widthRatio: number; weights: Float32Array }[], pool: SyntheticPool): Promise<TeacherScreen[]> {
  const models = inputs.map((m) => {
    const model = buildModel(spec, m.widthRatio);
    setFlatWeights(model, m.weights, modelManifest(spec, m.widthRatio));
    return model;
  });
  try {
    return screenTeachers(models, inputs.map((m) => m.weights), pool, rule);
  } finally {
    for (const m of models) m.dispose();
  }
}

describe('Stage 2 teacher rule', () => {
  let pool: SyntheticPool;
  let honest: Float32Array;
  beforeAll(async () => {
    await useBackend('wasm');
    pool = new SyntheticPool(source, { size: 64, refreshFraction: 0 });
    await pool.refresh(0, 3);
    honest = await trained(1, 4);
  });

  it('lets a trained model teach and excludes scaled, untrained, sign-flipped and non-finite ones, each with its reason', async () => {
    const start = initialWeights(spec, 4);
    const nan = honest.slice();
    nan[3] = NaN;
    const screens = await screen([
      { widthRatio: 1, weights: honest },
      { widthRatio: 1, weights: Float32Array.from(honest, (v) => v * 1000) },
      { widthRatio: 1, weights: start },
      { widthRatio: 1, weights: Float32Array.from(honest, (v, i) => 2 * (start[i] as number) - v) },
      { widthRatio: 1, weights: nan },
    ], pool);
    expect(screens.map((s) => s.teaches)).toEqual([true, false, false, false, false]);
    expect(screens[0]!.poolAccuracy).toBeGreaterThan(0.9);
    expect(screens[1]!.reason).toMatch(/largest \|logit\|/);
    expect(screens[2]!.reason).toMatch(/its accuracy is .* \(skill/);
    expect(screens[3]!.reason).toMatch(/its accuracy is .* \(skill/);
    // The second arm, when switched on, lets the near-uniform untrained model in but not the confidently wrong flipped one.
    expect(screens[2]!.lossRatio).toBeLessThan(1.1);
    expect(screens[3]!.lossRatio).toBeGreaterThan(1.1);
    expect(screens[4]).toMatchObject({ finite: false, reason: 'its weights are not finite' });
    // The one teacher does not learn from itself alone; the non-finite model is left out.
    expect(learnersOf(screens)).toEqual([false, true, true, true, false]);
  });

  it('keeps a poisoned cluster from moving the honest ones: they end as they would without it', async () => {
    const other = await trained(0.5, 5);
    const honestPair = [{ widthRatio: 1, weights: honest }, { widthRatio: 0.5, weights: other }];
    const poisoned = { widthRatio: 0.5, weights: Float32Array.from(other, (v) => v * 1e10) };
    const opts = { steps: 5, batchSize: 16, optimizer: 'sgd' as const, learningRate: 1e-2, lambda: 0.5, temperature: 3, teacherRule: rule };
    const start = tf.memory().numTensors;
    const clean = await runMutualLearning(honestPair, spec, pool, opts, 9);
    const attacked = await runMutualLearning([...honestPair, poisoned], spec, pool, opts, 9);
    expect(tf.memory().numTensors).toBe(start);
    expect(attacked.weights[0]).toEqual(clean.weights[0]);
    expect(attacked.weights[1]).toEqual(clean.weights[1]);
    expect(attacked.weights.every((w, k) => k === 2 || w.every(Number.isFinite))).toBe(true);
    expect(attacked.learned).toEqual([true, true, true]);
    // Without the rule the same poisoned model turns the honest ones to NaN or far away.
    const unguarded = await runMutualLearning([...honestPair, poisoned], spec, pool, { ...opts, teacherRule: null }, 9);
    const moved = (a: Float32Array, b: Float32Array) => a.some((v, i) => !Number.isFinite(v) || Math.abs(v - (b[i] as number)) > 1);
    expect(moved(unguarded.weights[0]!, clean.weights[0]!)).toBe(true);
  });

  it('keeps a model the caller marks (nobody trained it this round) from teaching, with the caller\'s reason', async () => {
    const other = await trained(0.5, 5);
    const pair = [{ widthRatio: 1, weights: honest }, { widthRatio: 0.5, weights: other }];
    const stale = { widthRatio: 1, weights: initialWeights(spec, 11), withoutTeaching: 'no accepted update reached it this round' };
    const opts = { steps: 4, batchSize: 16, teacherRule: rule };
    const clean = await runMutualLearning(pair, spec, pool, opts, 3);
    const withStale = await runMutualLearning([...pair, stale], spec, pool, opts, 3);
    expect(withStale.weights[0]).toEqual(clean.weights[0]);
    expect(withStale.weights[1]).toEqual(clean.weights[1]);
    expect(withStale.screens[2]!.teaches).toBe(false);
    expect(withStale.screens[2]!.reason).toMatch(/^no accepted update reached it this round/);
  });

  it('changes nothing in a model that would learn only from itself', async () => {
    const scaled = Float32Array.from(honest, (v) => v * 1000);
    const r = await runMutualLearning([{ widthRatio: 1, weights: honest }, { widthRatio: 1, weights: scaled }], spec, pool,
      { steps: 3, batchSize: 16, teacherRule: rule }, 1);
    expect(r.learned).toEqual([false, true]);
    expect(r.weights[0]).toEqual(honest);
    expect(r.weights[1]).not.toEqual(scaled);
  });
});
