import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import { initialWeights } from '@fedtsa/core/model';
import { extractSubmodel } from '@fedtsa/core/submodel';
import { runMutualLearning, type ClusterModelWeights, type MutualLearningOptions } from '@fedtsa/core/stage2/mutual-learning';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import { createToySource } from '@fedtsa/core/stage2/toy-source';
import type { StepTimings } from './parallel-mutual-learning-messages.ts';
import { createParallelMutualLearning, type ParallelMutualLearning } from './parallel-mutual-learning.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 4, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };

async function toyPool(size: number, seed: number): Promise<SyntheticPool> {
  const pool = new SyntheticPool(createToySource([8, 8, 1], 4), { size, refreshFraction: 0.25 });
  await pool.refresh(1, seed);
  return pool;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('parallel mutual learning on worker threads', () => {
  let parallel: ParallelMutualLearning;
  beforeAll(async () => {
    await useBackend('wasm');
    parallel = createParallelMutualLearning({ workers: 2 });
  });
  afterAll(async () => parallel.close());

  const w1 = () => initialWeights(spec, 3);
  const inputs = (): ClusterModelWeights[] => {
    const full = w1();
    const nan = extractSubmodel(full, spec, 0.5);
    nan[7] = NaN;
    return [
      { widthRatio: 1, weights: extractSubmodel(full, spec, 1) },
      { widthRatio: 0.5, weights: extractSubmodel(full, spec, 0.5) },
      // Screened out by the caller: learns, does not teach.
      { widthRatio: 0.25, weights: extractSubmodel(full, spec, 0.25), withoutTeaching: 'its cluster was capped this round' },
      // Not finite: neither teaches nor learns.
      { widthRatio: 0.5, weights: nan },
    ];
  };

  // Fresh models sit at chance, so minSkill 0 lets them teach; the exclusions above still apply.
  const rule = { maxAbsLogit: 100, minSkill: 0, maxLossRatio: 0 };
  for (const [name, opts] of [
    ['the teacher rule and exclusions', { steps: 8, batchSize: 15, teacherRule: rule, learningRate: 0.05 }],
    ['the rule off, Adam, a batch that does not split evenly', { steps: 6, batchSize: 13, teacherRule: null, optimizer: 'adam', learningRate: 1e-2 }],
    ['the widest model teaching only', { steps: 5, batchSize: 16, teacherRule: rule, widestLearns: false, learningRate: 0.05 }],
  ] as [string, Partial<MutualLearningOptions>][]) {
    it(`gives runMutualLearning's weights, screens and statistics (${name})`, async () => {
      const pool = await toyPool(40, 5);
      // With the rule off a non-finite model teaches (the behaviour before the rule) and would poison every model.
      const models = opts.teacherRule ? inputs() : inputs().slice(0, 3);
      const single = await runMutualLearning(models, spec, pool, opts, 11);
      const start = tf.memory().numTensors;
      const par = await parallel.run(models, spec, pool, opts, 11);
      const again = await parallel.run(models, spec, pool, opts, 11);
      // The main thread builds no tensors; each worker holds the same number after every round.
      expect(tf.memory().numTensors).toBe(start);
      expect(parallel.workerTensors).toHaveLength(2);
      const tensorsAfter = [...parallel.workerTensors];
      await parallel.run(models, spec, pool, opts, 12);
      expect(parallel.workerTensors).toEqual(tensorsAfter);

      expect(par.learned).toEqual(single.learned);
      expect(par.screens.map((s) => [s.teaches, s.finite, s.poolAccuracy, s.maxAbsLogit, s.reason]))
        .toEqual(single.screens.map((s) => [s.teaches, s.finite, s.poolAccuracy, s.maxAbsLogit, s.reason]));
      par.screens.forEach((s, k) => { if (s.finite) expect(s.lossRatio).toBeCloseTo(single.screens[k]!.lossRatio, 5); });
      if (opts.teacherRule) {
        expect(par.screens.map((s) => s.teaches)).toEqual([true, true, false, false]);
        expect(par.learned).toEqual([opts.widestLearns !== false, true, true, false]);
      }
      if (opts.teacherRule) expect(par.weights[3]).toEqual(models[3]!.weights);
      par.weights.forEach((w, k) => {
        const moved = maxAbsDiff(single.weights[k]!, models[k]!.weights);
        if (single.learned[k]) expect(moved).toBeGreaterThan(1e-3);
        // Float32 sums of two shards' gradients against one batch's: ~1e-7 relative per step,
        // compounded over a few steps; 1e-4 of the distance travelled leaves a wide margin
        // while a wrong shard weight, batch or target would miss by orders of magnitude.
        if (single.learned[k]) expect(maxAbsDiff(w, single.weights[k]!)).toBeLessThan(1e-4 * moved);
      });
      expect(again.weights).toEqual(par.weights);
      expect(par.stats.steps).toBe(single.stats.steps);
      expect(par.stats.meanKlBefore).toBeCloseTo(single.stats.meanKlBefore, 5);
      expect(par.stats.meanKlAfter).toBeCloseTo(single.stats.meanKlAfter, 4);
      expect(par.stats.meanCe).toBeCloseTo(single.stats.meanCe, 5);
    });
  }

  it('gives the same bits whichever worker computes which shard: one worker, two, one of them stalled', async () => {
    const pool = await toyPool(40, 8);
    const models = inputs().slice(0, 3);
    const opts = { steps: 12, batchSize: 16, teacherRule: null };
    const reference = await parallel.run(models, spec, pool, opts, 5);
    const one = createParallelMutualLearning({ workers: 1 });
    // Worker 1 sleeps at step 1 for longer than the others need for the ring's 8 steps: they take its shards meanwhile.
    const stalled = createParallelMutualLearning({ workers: 2, faultForTests: { worker: 1, step: 1, kind: 'stall', ms: 1500 } });
    try {
      const a = await one.run(models, spec, pool, opts, 5);
      const b = await stalled.run(models, spec, pool, opts, 5);
      expect(a.weights).toEqual(reference.weights);
      expect(b.weights).toEqual(reference.weights);
      expect(b.stats.meanCe).toBe(reference.stats.meanCe);
      expect(one.workerTimings[0]!.shards).toBe(24);
      const [w0, w1] = stalled.workerTimings as [StepTimings, StepTimings];
      expect(w0.shards + w1.shards).toBe(24);
      expect(w0.shards).toBeGreaterThanOrEqual(1 + 2 * 8);
    } finally {
      await one.close();
      await stalled.close();
    }
  });

  it('rejects with the failing worker\'s message, and serves the next round', async () => {
    const pool = await toyPool(24, 6);
    const opts = { steps: 4, batchSize: 8, teacherRule: null };
    for (const kind of ['throw', 'exit'] as const) {
      const faulty = createParallelMutualLearning({ workers: 2, faultForTests: { worker: 1, step: 2, kind } });
      await expect(faulty.run(inputs().slice(0, 2), spec, pool, opts, 1))
        .rejects.toThrow(kind === 'throw' ? /parallelMutualLearning: worker 1 failed: Error: fault injected for a test at step 2/ : /parallelMutualLearning: worker 1 exited \(code 3\)/);
      await faulty.close();
    }
    // Inputs are checked on this thread before any worker is asked.
    await expect(parallel.run([{ widthRatio: 0.5, weights: new Float32Array(3) }], spec, pool, opts, 1)).rejects.toThrow(/parallelMutualLearning: model 0 \(width 0.5\) has 3 weights/);
    const ok = await parallel.run(inputs().slice(0, 2), spec, pool, opts, 1);
    expect(ok.stats.steps).toBe(4);
  });

  it('refuses to run once closed', async () => {
    const p = createParallelMutualLearning({ workers: 1 });
    await p.close();
    const pool = await toyPool(8, 7);
    await expect(p.run(inputs().slice(0, 2), spec, pool, {}, 1)).rejects.toThrow(/parallelMutualLearning: closed/);
    expect(() => createParallelMutualLearning({ workers: 0 })).toThrow(/workers must be a positive integer/);
    expect(() => createParallelMutualLearning({ shards: 1.5 })).toThrow(/shards must be a positive integer/);
  });
});
