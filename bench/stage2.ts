/**
 * Stage 2 costs on the wasm backend:
 *  - generation: samples/s of the committed generator (25 guided DDIM steps), against the
 *    ideal of 25 bare U-Net forward passes over the doubled (guided) batch;
 *  - mutual learning: time per step by cluster count (widths 1, 1/2, 1/4, 1/8 added in
 *    turn), against one plain cross-entropy SGD step of each of the same models on the
 *    same batch;
 *  - mutual learning per round (teacher screen, 50 steps of batch 64, statistics) on one thread
 *    (core runMutualLearning) against data parallel on worker threads (node-io
 *    parallel-mutual-learning), 2 and 3 clusters.
 *   node --import tsx bench/stage2.ts [checkpointDir]
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '@fedtsa/core/backend';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { unetForward, unetParamShapes } from '@fedtsa/core/diffusion/unet';
import { buildModel } from '@fedtsa/core/model';
import { initialWeights } from '@fedtsa/core/model';
import { mutualLearningStep, runMutualLearning, type MutualLearningRunner } from '@fedtsa/core/stage2/mutual-learning';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import { extractSubmodel } from '@fedtsa/core/submodel';
import { createParallelMutualLearning } from '@fedtsa/node-io/parallel-mutual-learning';
import { createToySource } from '@fedtsa/core/stage2/toy-source';
import { createOptimizer } from '@fedtsa/core/train';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import { fmt, medianMs, table } from './lib.ts';

await useBackend('wasm');
const dir = process.argv[2] ?? 'checkpoints/fmnist-ddpm';
const checkpoint = readCheckpoint(dir);
if (!checkpoint) throw new Error(`no generator checkpoint in ${dir}`);

// Generation.
const n = 25;
const steps = 25;
const generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps, guidance: 3, batchSize: n });
const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
let seed = 1;
const sampleMs = await medianMs(() => generator.sample(labels, seed++), 3, 1);
generator.dispose();
const params = new Map([...checkpoint.tensors].filter(([k]) => k.startsWith('ema/')).map(([k, v]) => [k.slice(4), tf.tensor(v.values, v.shape)]));
if (params.size !== unetParamShapes(checkpoint.config).length) throw new Error('checkpoint lacks EMA weights');
const [h, w, c] = checkpoint.config.imageShape;
const forwardMs = await medianMs(() => tf.tidy(() => {
  const x = tf.randomNormal([2 * n, h, w, c]) as tf.Tensor4D;
  const out = unetForward(params, checkpoint.config, x, tf.fill([2 * n], 500) as tf.Tensor1D, tf.tensor1d(Array.from({ length: 2 * n }, (_, i) => (i < n ? i % 10 : 10))));
  out.dataSync();
}), 5, 1);
for (const t of params.values()) t.dispose();
const ideal = steps * forwardMs;
console.log(`Generation with ${dir} (step ${checkpoint.step}), ${n} images per call, ${steps} DDIM steps, guidance 3; median of 3 calls.\n`);
console.log(table(['images/s', 'ms per call', 'ideal: 25 forwards of batch 50 (ms)', 'ratio to ideal'],
  [[fmt(n / (sampleMs / 1000)), fmt(sampleMs, 0), fmt(ideal, 0), fmt(sampleMs / ideal)]]));

// Mutual learning by cluster count.
const spec = { inputShape: [28, 28, 1] as const, numClasses: 10 };
const source = createToySource([28, 28, 1], 10);
const batch = await source.sample(Uint8Array.from({ length: 64 }, (_, i) => i % 10), 3);
const x = tf.tensor4d(batch.images, [64, 28, 28, 1]);
const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), 10) as tf.Tensor2D;
const widths = [1, 0.5, 0.25, 0.125];
const rows: (string | number)[][] = [];
for (let k = 1; k <= widths.length; k++) {
  const models: tfl.LayersModel[] = widths.slice(0, k).map((wr, i) => buildModel(spec, wr, i + 1));
  const optimizers = models.map(() => createOptimizer('sgd', 3e-3));
  const mlMs = await medianMs(() => mutualLearningStep(models, optimizers, x, y, { temperature: 3, lambda: 0.5 }), 10, 2);
  const plainMs = await medianMs(() => {
    for (const [i, m] of models.entries()) {
      (optimizers[i] as tf.Optimizer).minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor2D) as tf.Scalar);
    }
  }, 10, 2);
  rows.push([k, widths.slice(0, k).join(', '), fmt(mlMs, 1), fmt(plainMs, 1), fmt(mlMs / plainMs)]);
  for (const o of optimizers) o.dispose();
  for (const m of models) m.dispose();
}
tf.dispose([x, y]);
console.log('\nMutual learning, batch 64, SGD with momentum; median of 10 steps.\n');
console.log(table(['clusters', 'widths', 'mutual-learning step (ms)', 'plain CE steps of the same models (ms)', 'ratio'], rows));

// Mutual learning per round: one thread against worker threads.
/** Median wall time and mean CPU time of the whole process (every thread) per run. */
async function wallAndCpu(fn: () => Promise<unknown>, reps = 3, warmup = 1): Promise<{ wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const wallMs = await medianMs(fn, reps, warmup);
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 / (reps + warmup) };
}
const pool = new SyntheticPool(source, { size: 300, refreshFraction: 0.1 });
await pool.refresh(1, 5);
const full = initialWeights(spec, 7);
const parallel = createParallelMutualLearning({ workers: 2 });
const roundRows: (string | number)[][] = [];
const stepRows: (string | number)[][] = [];
for (const k of [2, 3]) {
  const models = widths.slice(0, k).map((widthRatio) => ({ widthRatio, weights: extractSubmodel(full, spec, widthRatio) }));
  // Fresh models sit at chance and would not teach under the rule: with it off every model teaches and learns (the screen still runs).
  const opts = { steps: 50, batchSize: 64, teacherRule: null };
  const round = (run: MutualLearningRunner) => () => run(models, spec, pool, opts, 3);
  const single = await wallAndCpu(round(runMutualLearning));
  const par = await wallAndCpu(round(parallel.run));
  roundRows.push([k, widths.slice(0, k).join(', '), fmt(single.wallMs, 0), fmt(par.wallMs, 0), fmt(single.wallMs / par.wallMs), fmt(single.cpuMs, 0), fmt(par.cpuMs, 0), fmt(par.cpuMs / single.cpuMs)]);
  for (const [s, t] of parallel.workerTimings.entries()) {
    stepRows.push([k, s, ...[t.gradientMs, t.exchangeMs, t.waitMs, t.applyMs].map((ms) => fmt(ms / opts.steps, 1)), t.shards]);
  }
}
await parallel.close();
console.log(`\nMutual learning per round: 50 steps of batch 64 from a pool of 300, teacher screen and KL statistics included; median wall time of 3 rounds after 1, CPU time of the whole process (all threads) per round. Other jobs share the machine: wall times depend on the load, CPU times much less.\n`);
console.log(table(['clusters', 'widths', 'one thread, wall (ms)', '2 worker threads, wall (ms)', 'speed-up', 'one thread, CPU (ms)', '2 workers, CPU (ms)', 'CPU ratio'], roundRows));
console.log('\nWhere a parallel step goes, per worker (ms per step, last round): the forward + backward of the shards it took, writing and summing gradients through shared memory, waiting for the other worker (its shards, or its steps when 8 ahead), the optimizer update; shards: how many of the 100 shards (50 steps x 2) it computed.\n');
console.log(table(['clusters', 'worker', 'gradients', 'exchange', 'wait', 'update', 'shards'], stepRows));
