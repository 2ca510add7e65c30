/**
 * A local training step against its physical floor, three forward passes (a backward pass
 * costs about two), at every rung of the width ladder: wasm in Node, batch 32, the reference
 * CNN on 28x28x1 with 10 classes, SGD with momentum as the client trains.
 *  - forward: model.apply on a batch already on the backend, logits read back;
 *  - step: trainLocal's time per batch over 10 batches (shuffling, batch upload, loss read
 *    included), with the fused step (kernels/cnn-step.ts, the default) and without it (tfjs
 *    autodiff through tfjs-layers and tfjs's optimizer, as before issue 19);
 *  - where the time goes in each;
 *  - the client's capability benchmark (apps/browser-client/src/trainer.ts, measure()): one
 *    trainLocal call per batch of 16 on the width-1 model, so it takes the same step as a
 *    round, against the step inside a 10-batch call.
 * Times are process CPU time, not wall time: the single-threaded wasm backend's work is all
 * CPU, and on a shared machine CPU time varies far less from run to run. Each figure is the
 * median of interleaved repetitions, so a burst of load hits all columns alike.
 *   node --import tsx bench/train-step.ts [reps]
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import { createTrainStep, makeBatch, trainLocal, type TrainOptions } from '@fedtsa/core/train';
import { fmt, percentile, table } from './lib.ts';

await useBackend('wasm');
const reps = Number(process.argv[2] ?? 15);
const BATCH = 32;
const BATCHES = 10;
const N = BATCH * BATCHES;
const spec = { inputShape: [28, 28, 1] as const, numClasses: 10 };
const data: LabelledImages = {
  images: Float32Array.from({ length: N * 784 }, (_, i) => ((i * 7919) % 255) / 255),
  labels: Uint8Array.from({ length: N }, (_, i) => (i * 7) % 10),
  count: N, height: 28, width: 28, channels: 1, numClasses: 10,
};
const widths = [1, 0.5, 0.25, 0.125];
const options = (fusedStep: boolean): TrainOptions => ({ epochs: 1, batchSize: BATCH, learningRate: 0.01, optimizer: 'sgd', rng: createRng(1), fusedStep });

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const timeCpu = (fn: () => void): number => {
  const t0 = cpuMs();
  fn();
  return cpuMs() - t0;
};

interface Row { width: number; forward: number; before: number; after: number }
const rows: Row[] = [];
const kernelsBefore = new Map<number, { counts: Map<string, [number, number]>; total: number; wall: number }>();
const phasesAfter = new Map<number, Map<string, number>>();

for (const width of widths) {
  const model = buildModel(spec, width, 1);
  const { x, y } = makeBatch(data, Array.from({ length: BATCH }, (_, i) => i));
  const forward = () => tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync());
  const train = (fused: boolean) => () => trainLocal(model, data, options(fused));
  forward();
  train(false)();
  train(true)(); // warm-up
  const f: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  for (let r = 0; r < reps; r++) {
    f.push(timeCpu(() => { for (let i = 0; i < 3 * BATCHES; i++) forward(); }) / (3 * BATCHES));
    before.push(timeCpu(train(false)) / BATCHES);
    after.push(timeCpu(train(true)) / BATCHES);
  }
  rows.push({ width, forward: percentile(f, 50), before: percentile(before, 50), after: percentile(after, 50) });

  // Before: tfjs's own per-kernel profile of a step, on the CPU clock (the wasm backend times
  // kernels with tf.util.now, the platform's clock), averaged over reps steps.
  const one = { ...data, count: BATCH };
  const platform = tf.env().platform as unknown as { now: () => number };
  platform.now = cpuMs;
  const counts = new Map<string, [number, number]>();
  let total = 0;
  let cpu = 0;
  try {
    for (let r = 0; r < reps; r++) {
      const t0 = cpuMs();
      const profile = await tf.profile(() => { trainLocal(model, one, options(false)); });
      cpu += cpuMs() - t0;
      total = profile.kernels.length;
      for (const k of profile.kernels) {
        const e = counts.get(k.name) ?? [0, 0];
        counts.set(k.name, [e[0] + 1 / reps, e[1] + (k.kernelTimeMs as number) / reps]);
      }
    }
  } finally {
    delete (platform as { now?: unknown }).now; // back to the prototype's clock
  }
  kernelsBefore.set(width, { counts, total, wall: cpu / reps });

  // After: the fused step's phases, CPU time per step over 10 x reps steps.
  const timings = { now: cpuMs, ms: new Map<string, number>() };
  const step = createTrainStep(model, data, options(true), timings);
  const idx = Array.from({ length: BATCH }, (_, i) => i);
  step.step(idx);
  timings.ms.clear();
  for (let i = 0; i < BATCHES * reps; i++) step.step(idx);
  step.dispose();
  phasesAfter.set(width, new Map([...timings.ms].map(([k, v]) => [k, v / (BATCHES * reps)])));
  tf.dispose([x, y]);
  model.dispose();
}

console.log(`wasm in Node, batch ${BATCH}, SGD with momentum; CPU ms, median of ${reps} interleaved repetitions of ${3 * BATCHES} forwards or ${BATCHES} steps.\n`);
console.log(table(
  ['width', 'forward (ms)', 'step before (ms)', 'step / (3 x forward) before', 'step after (ms)', 'step / (3 x forward) after', 'speed-up', 'samples/s after'],
  rows.map((r) => [r.width, fmt(r.forward), fmt(r.before), fmt(r.before / (3 * r.forward)), fmt(r.after), fmt(r.after / (3 * r.forward)), fmt(r.before / r.after), fmt((BATCH * 1000) / r.after, 0)]),
));

console.log('\nBefore: kernels of one step by tf.profile (CPU ms; profiling itself adds time outside the kernels), the six costliest, and what the rest of the step took outside kernels (engine, tape, tfjs-layers, JS).\n');
console.log(table(['width', 'kernel calls', 'costliest kernels: calls, ms', 'all kernels (ms)', 'outside kernels (ms)'], widths.map((w) => {
  const k = kernelsBefore.get(w)!;
  const sorted = [...k.counts].sort((a, b) => b[1][1] - a[1][1]);
  const kernelMs = sorted.reduce((s, [, [, ms]]) => s + ms, 0);
  return [w, k.total, sorted.slice(0, 6).map(([n, [c, ms]]) => `${n} ${Math.round(c)}, ${fmt(ms)}`).join('; '), fmt(kernelMs), fmt(k.wall - kernelMs)];
})));

const phases = [...new Set(widths.flatMap((w) => [...phasesAfter.get(w)!.keys()]))];
console.log('\nAfter: the fused step by phase (CPU ms per step; the rest of trainLocal\'s step is batch upload, shuffling and the loop).\n');
console.log(table(['phase', ...widths.map((w) => `width ${w}`)], [
  ...phases.map((p) => [p, ...widths.map((w) => fmt(phasesAfter.get(w)!.get(p) ?? 0))]),
  ['sum', ...widths.map((w) => fmt([...phasesAfter.get(w)!.values()].reduce((a, b) => a + b, 0)))],
]));

// The capability benchmark's calls: one batch of 16 per trainLocal call, as trainer.ts does.
const CAP_BATCH = 16;
const capData = (n: number): LabelledImages => ({ ...data, images: data.images.subarray(0, n * 784), labels: data.labels.subarray(0, n), count: n });
const capModel = buildModel(spec, 1, 1);
const capRows: (string | number)[][] = [];
for (const fused of [false, true]) {
  const opts = { ...options(fused), batchSize: CAP_BATCH };
  const one = capData(CAP_BATCH);
  const ten = capData(BATCHES * CAP_BATCH);
  trainLocal(capModel, one, opts);
  trainLocal(capModel, ten, opts);
  const perCall: number[] = [];
  const inRound: number[] = [];
  for (let r = 0; r < reps; r++) {
    perCall.push(timeCpu(() => { for (let i = 0; i < BATCHES; i++) trainLocal(capModel, one, opts); }) / BATCHES);
    inRound.push(timeCpu(() => trainLocal(capModel, ten, opts)) / BATCHES);
  }
  capRows.push([fused ? 'fused step (now)' : 'tfjs autodiff (before)', fmt(percentile(perCall, 50)), fmt(percentile(inRound, 50)), fmt(percentile(perCall, 50) / percentile(inRound, 50)), fmt((CAP_BATCH * 1000) / percentile(perCall, 50), 0)]);
}
capModel.dispose();
console.log(`\nThe capability benchmark's measurement: width 1, batch ${CAP_BATCH}, one trainLocal call per batch (trainer.ts), against the step inside a ${BATCHES}-batch call (CPU ms per step, medians).\n`);
console.log(table(['step', 'one-batch calls (ms)', 'in a 10-batch call (ms)', 'ratio', 'score it reports (samples/s of CPU)'], capRows));
