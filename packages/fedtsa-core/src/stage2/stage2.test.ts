import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '../model.ts';
import { createRng } from '../rng.ts';
import type { ClusterModel } from '../strategy/types.ts';
import { extractSubmodel } from '../submodel.ts';
import { trainLocal } from '../train.ts';
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

  it('checks the pool against the spec and the options at setup', () => {
    const pool = new SyntheticPool(createToySource([8, 8, 1], 3), { size: 8, refreshFraction: 0.5 });
    expect(() => createStage2Step({ spec, pool, seed: 1, mutualLearning: {} })).toThrow(/createStage2Step: pool source/);
    const ok = new SyntheticPool(createToySource([8, 8, 1], 4), { size: 8, refreshFraction: 0.5 });
    expect(() => createStage2Step({ spec, pool: ok, seed: 1, mutualLearning: { temperature: 0 } })).toThrow(/createStage2Step: temperature/);
  });
});
