import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '../model.ts';
import { createRng } from '../rng.ts';
import type { ClusterModel } from '../strategy/types.ts';
import { extractSubmodel } from '../submodel.ts';
import { trainLocal } from '../train.ts';
import { ChunkedSource } from './chunked-source.ts';
import { poolChunks, stage2PoolSeed } from './pool-plan.ts';
import { MemoryPoolStore, storedChunks } from './pool-store.ts';
import { createStage2Step } from './stage2.ts';
import { SyntheticPool } from './synthetic-pool.ts';
import { createToySource, type ToySource } from './toy-source.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 4, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };

/**
 * Cluster models that disagree, as after non-IID local training: model k has only seen
 * classes k and k+1. (Freshly initialised models all output near-uniform softmaxes, KL ~ 2e-4
 * at T = 3, so there is nothing to pull together and the label term makes the KL grow.)
 */
async function clusterModels(source: ToySource): Promise<ClusterModel[]> {
  const w1 = initialWeights(spec, 3);
  const out: ClusterModel[] = [];
  for (const [k, r] of [1, 0.5, 0.25].entries()) {
    const local = await source.sample(Uint8Array.from({ length: 32 }, (_, i) => k + (i % 2)), 100 + k);
    const model = buildModel(spec, r);
    setFlatWeights(model, extractSubmodel(w1, spec, r), modelManifest(spec, r));
    trainLocal(model, local, { epochs: 3, batchSize: 16, learningRate: 0.05, optimizer: 'sgd', rng: createRng(k) });
    out.push({ clusterIndex: k, widthRatio: r, memberIds: [`c${k}a`, `c${k}b`], weights: getFlatWeights(model) });
    model.dispose();
  }
  return out;
}

describe('Stage 2 server step', () => {
  beforeAll(async () => useBackend('wasm'));

  it('refreshes the pool, trains every cluster model and reports both costs', async () => {
    const source = createToySource([8, 8, 1], 4);
    const pool = new SyntheticPool(source, { size: 64, refreshFraction: 0.25, classBalanced: true });
    let clock = 0;
    const step = createStage2Step({
      spec, pool, seed: 5, // The toy cluster models sit at chance on the pool: without the teacher rule, to test the plumbing.
      mutualLearning: { steps: 10, batchSize: 16, learningRate: 1e-2, lambda: 0.5, temperature: 3, teacherRule: null },
      now: () => (clock += 10),
    });
    const models = await clusterModels(createToySource([8, 8, 1], 4));
    const start = tf.memory().numTensors;
    const first = await step(1, models);
    expect(tf.memory().numTensors).toBe(start);
    expect(source.samplesDrawn).toBe(64);
    first.models.forEach((m, k) => {
      const input = models[k] as ClusterModel;
      expect({ ...m, weights: null }).toEqual({ ...input, weights: null });
      expect(m.weights.length).toBe(parameterCount(modelManifest(spec, input.widthRatio)));
      expect(m.weights).not.toEqual(input.weights);
      expect(m.weights.every(Number.isFinite)).toBe(true);
    });
    const s = first.stats;
    expect(s).toMatchObject({ poolSize: 64, generated: 64, steps: 10 });
    expect(s.generationMs).toBeGreaterThan(0);
    expect(s.mutualLearningMs).toBeGreaterThan(0);
    expect(s.klBefore).toBeGreaterThan(0);
    expect(s.klAfter).toBeLessThan(s.klBefore as number);

    const second = await step(2, first.models);
    expect(second.stats.generated).toBe(16);
    expect(source.samplesDrawn).toBe(80);
    // The models were already pulled together in round 1.
    expect(second.stats.klBefore).toBeCloseTo(s.klAfter as number, 1);
  });

  it('on a pool made ahead of time, leaves the models alone below minPoolSamples and runs on the part made above it', async () => {
    const toy = createToySource([8, 8, 1], 4);
    const drawing = ChunkedSource.over(toy);
    const store = new MemoryPoolStore();
    const generator = { checkpoint: '00112233aabbccdd', steps: 2, guidance: 1 };
    const seed = 5;
    const plan = { size: 60, refreshFraction: 0.5, numClasses: 4, firstRound: 1, seed: stage2PoolSeed(seed) };
    const [c0, c1] = poolChunks(plan, 1);
    const make = async (c: typeof c0) => store.write(generator, c!.labels, c!.seed, (await drawing.sample(c!.labels, 0)).images);
    const pool = new SyntheticPool(storedChunks(store, generator, [8, 8, 1], 4), { size: 60, refreshFraction: 0.5, firstRound: 1 });
    const step = createStage2Step({
      spec, pool, seed, minPoolSamples: 32,
      mutualLearning: { steps: 3, batchSize: 16, learningRate: 1e-2, lambda: 0.5, temperature: 3, teacherRule: null },
    });
    const models = await clusterModels(toy);
    expect((await step(1, models)).stats).toMatchObject({ stage2Skipped: 1, poolReady: 0, poolSize: 60, poolRound: 0 });
    await make(c0);
    const skipped = await step(1, models);
    expect(skipped.stats).toMatchObject({ stage2Skipped: 1, poolReady: 25, generated: 25 });
    expect(skipped.models).toEqual(models);
    expect(skipped.stats.mutualLearningMs).toBeUndefined();
    await make(c1);
    const ran = await step(1, models);
    expect(ran.stats).toMatchObject({ poolReady: 50, poolRound: 0, steps: 3 });
    expect(ran.stats.stage2Skipped).toBeUndefined();
    expect(ran.models[0]?.weights).not.toEqual(models[0]?.weights);
    expect(() => createStage2Step({ spec, pool, seed, mutualLearning: {}, minPoolSamples: 61 })).toThrow(/minPoolSamples must be an integer in \[1, 60\]/);
  });

  it('checks the pool against the spec and the options at setup', () => {
    const pool = new SyntheticPool(createToySource([8, 8, 1], 3), { size: 8, refreshFraction: 0.5 });
    expect(() => createStage2Step({ spec, pool, seed: 1, mutualLearning: {} })).toThrow(/createStage2Step: pool source/);
    const ok = new SyntheticPool(createToySource([8, 8, 1], 4), { size: 8, refreshFraction: 0.5 });
    expect(() => createStage2Step({ spec, pool: ok, seed: 1, mutualLearning: { temperature: 0 } })).toThrow(/createStage2Step: temperature/);
  });
});
