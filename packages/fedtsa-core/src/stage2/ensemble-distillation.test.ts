import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '../model.ts';
import { extractSubmodel } from '../submodel.ts';
import type { ClusterModel } from '../strategy/types.ts';
import { createEnsembleDistillationStep, feddfParticipants, publicPoolOfRound } from './ensemble-distillation.ts';
import { assignRoles } from './mutual-learning.ts';
import { fixedPool, SyntheticPool } from './synthetic-pool.ts';
import { createToySource } from './toy-source.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 4, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };

async function toyImages(size: number, seed: number) {
  const pool = new SyntheticPool(createToySource([8, 8, 1], 4), { size, refreshFraction: 0.25 });
  await pool.refresh(0, seed);
  return pool.data;
}

function clusterModels(): ClusterModel[] {
  const full = initialWeights(spec, 3);
  // Two different models: the narrow one from another init, so the ensemble is not either of them.
  const narrow = extractSubmodel(initialWeights(spec, 4), spec, 0.5);
  return [
    { clusterIndex: 0, widthRatio: 0.5, weights: narrow, memberIds: ['a'] },
    { clusterIndex: 1, widthRatio: 1, weights: full, memberIds: ['b', 'c'] },
  ];
}

/**
 * The oracle, written from the paper's loss and not from the runner's code: `steps` steps of SGD
 * with momentum 0.9 (createOptimizer's) on T^2 * mean_batch KL(softmax(mean_k z_k / T) ||
 * softmax(z_student / T)), the teachers' logits z_k taken from the round's models before
 * anything moved. After the first step a target that followed the students (mutual learning)
 * would differ.
 */
function oracleSteps(models: readonly ClusterModel[], student: number, x: tf.Tensor4D, T: number, lr: number, steps: number): Float32Array {
  const nets = models.map((m) => {
    const net = buildModel(spec, m.widthRatio);
    setFlatWeights(net, m.weights, modelManifest(spec, m.widthRatio));
    return net;
  });
  try {
    const target = tf.tidy(() => tf.softmax(tf.div(tf.addN(nets.map((n) => n.predict(x) as tf.Tensor2D)), models.length * T)));
    const net = nets[student] as (typeof nets)[number];
    const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
    const velocity = new Map<string, tf.Tensor>(vars.map((v) => [v.name, tf.zerosLike(v)]));
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(() => {
        const logQ = tf.logSoftmax(tf.div(net.apply(x, { training: true }) as tf.Tensor2D, T));
        return tf.mul(tf.mean(tf.sum(tf.mul(target, tf.sub(tf.log(target), logQ)), 1)), T * T) as tf.Scalar;
      }, vars);
      for (const v of vars) {
        const old = velocity.get(v.name) as tf.Tensor;
        const next = tf.add(tf.mul(old, 0.9), grads[v.name] as tf.Tensor);
        velocity.set(v.name, next);
        v.assign(tf.sub(v, tf.mul(next, lr)));
        old.dispose();
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    tf.dispose([target, ...velocity.values()]);
    return getFlatWeights(net);
  } finally {
    nets.forEach((n) => n.dispose());
  }
}

describe('FedDF ensemble distillation', () => {
  beforeAll(async () => useBackend('wasm'));

  it('gives the students and the frozen teachers fixed parts, whatever the teacher rule says', () => {
    const models = feddfParticipants(clusterModels());
    expect(models.map((m) => m.role)).toEqual(['learns-only', 'learns-only', 'teaches-only', 'teaches-only']);
    const screen = { finite: true, maxAbsLogit: 1, poolAccuracy: 0.5, skill: 0.3, lossRatio: 0.9, teaches: true };
    const { teaches, learns, roles } = assignRoles(models.map(() => screen), models, null);
    expect(teaches).toEqual([false, false, true, true]);
    expect(learns).toEqual([true, true, false, false]);
    expect(roles).toEqual({ teaches, learns });
    // The teachers are copies: distilling the students cannot reach them.
    expect(models[2]?.weights).not.toBe(models[0]?.weights);
    expect(models[2]?.weights).toEqual(models[0]?.weights);
  });

  it('moves each student by the gradient towards the mean of the round\'s models\' logits, and leaves the inputs untouched', async () => {
    const images = await toyImages(24, 7);
    const models = clusterModels();
    const inputs = models.map((m) => m.weights.slice());
    const T = 2;
    const lr = 0.05;
    // Three steps, each over the whole pool (a batch of every row, in some order: the mean loss is the same).
    const step = createEnsembleDistillationStep({ spec, pool: fixedPool(images), seed: 5, options: { temperature: T, steps: 3, batchSize: images.count, optimizer: 'sgd', learningRate: lr } });
    const out = await step(1, models);
    expect(out.stats.steps).toBe(3);
    expect(out.stats.generated).toBe(0);
    expect(out.models.map((m) => [m.clusterIndex, m.widthRatio, m.memberIds])).toEqual(models.map((m) => [m.clusterIndex, m.widthRatio, m.memberIds]));
    models.forEach((m, k) => expect(m.weights).toEqual(inputs[k]));
    const x = fixedPool(images).batch(Array.from({ length: images.count }, (_, i) => i));
    try {
      for (const k of [0, 1]) {
        const expected = oracleSteps(models, k, x.x, T, lr, 3);
        const got = out.models[k]?.weights as Float32Array;
        const moved = Math.max(...expected.map((v, i) => Math.abs(v - (inputs[k] as Float32Array)[i]!)));
        const off = Math.max(...expected.map((v, i) => Math.abs(v - got[i]!)));
        expect(moved).toBeGreaterThan(1e-4);
        expect(off).toBeLessThan(1e-3 * moved + 1e-7);
      }
    } finally {
      tf.dispose([x.x, x.y]);
    }
  });

  it('refreshes a synthetic pool as Stage 2 does, and refuses a pool of another shape', async () => {
    const pool = new SyntheticPool(createToySource([8, 8, 1], 4), { size: 16, refreshFraction: 0.25 });
    const step = createEnsembleDistillationStep({ spec, pool, seed: 1, options: { temperature: 1, steps: 2, batchSize: 8, optimizer: 'adam', learningRate: 1e-3 } });
    const out = await step(1, clusterModels());
    expect(out.stats.generated).toBe(16);
    expect(out.stats.poolReady).toBe(16);
    const other = fixedPool({ ...(await toyImages(4, 1)), numClasses: 5 });
    expect(() => createEnsembleDistillationStep({ spec, pool: other, seed: 1, options: { temperature: 1, steps: 1, batchSize: 4, optimizer: 'adam', learningRate: 1e-3 } }))
      .toThrow(/pool is 8x8x1\/5 classes, spec is 8x8x1\/4/);
  });

  it('draws each round a fresh, seeded share of the public images, of the pool\'s size', async () => {
    const images = await toyImages(40, 3);
    const poolOf = publicPoolOfRound(images, 10, 9);
    const rows = (round: number, of = poolOf) => {
      const d = of(round).data;
      return Array.from({ length: d.count }, (_, i) => Array.from(d.images.subarray(i * 64, (i + 1) * 64)).join());
    };
    const all = new Set(Array.from({ length: 40 }, (_, i) => Array.from(images.images.subarray(i * 64, (i + 1) * 64)).join()));
    expect(rows(1)).toHaveLength(10);
    expect(new Set(rows(1)).size).toBe(10);
    for (const r of rows(1)) expect(all.has(r)).toBe(true);
    // Seeded: another instance with the same seed draws the same rows; another seed does not.
    expect(rows(1, publicPoolOfRound(images, 10, 9))).toEqual(rows(1));
    expect(rows(1, publicPoolOfRound(images, 10, 10))).not.toEqual(rows(1));
    expect(rows(2)).not.toEqual(rows(1));
    expect(() => publicPoolOfRound(images, 41, 9)).toThrow(/size must be an integer in \[1, 40\]/);
  });
});
