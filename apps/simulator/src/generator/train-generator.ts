/**
 * Trains the server's class-conditional DDPM on the public pool (disjoint from every client),
 * data-parallel over worker threads, resumable from its last checkpoint.
 *
 *   npm run train-generator -- --out checkpoints/fmnist-ddpm --steps 6000 --max-minutes 120
 *   npm run train-generator -- --dataset data/colour-shapes --out checkpoints/colour-shapes-ddpm \
 *     --state .data/generator-state/colour-v4 --channels 48,96,96 --patch 2
 *
 * Without --dataset the task is the built-in Fashion-MNIST. The U-Net takes the task's image
 * shape and classes; --channels and --patch size it. With --state, the resumable state (raw
 * weights, Adam moments) lives there and --out holds the EMA weights only.
 */
import { mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { subset } from '@fedtsa/core/data/dataset';
import { taskSpec } from '@fedtsa/core/task';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { cosineSchedule } from '@fedtsa/core/diffusion/schedule';
import { DEFAULT_TRAINER_OPTIONS, DdpmTrainer } from '@fedtsa/core/diffusion/trainer';
import { countParams, DEFAULT_UNET_CONFIG, type UNetConfig } from '@fedtsa/core/diffusion/unet';
import { createRng, deriveSeed, randomInt } from '@fedtsa/core/rng';
import { readCheckpoint, readCheckpointFiles, writeCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import { loadOrTrainClassifier, measureFidelity } from './fidelity.ts';
import { generatorSource, loadGeneratorData } from './generator-data.ts';
import type { GradReply, GradRequest, GradWorkerInit } from './messages.ts';

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string' },
    'image-size': { type: 'string' },
    out: { type: 'string', default: 'checkpoints/fmnist-ddpm' },
    state: { type: 'string' },
    steps: { type: 'string', default: '6000' },
    'max-minutes': { type: 'string', default: '0' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: String(DEFAULT_TRAINER_OPTIONS.learningRate) },
    channels: { type: 'string', default: DEFAULT_UNET_CONFIG.channels.join(',') },
    patch: { type: 'string', default: String(DEFAULT_UNET_CONFIG.patchSize) },
    workers: { type: 'string', default: '2' },
    'checkpoint-every': { type: 'string', default: '50' },
    'fidelity-every': { type: 'string', default: '500' },
    'fidelity-per-class': { type: 'string', default: '20' },
    'snapshot-every': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    'classifier-samples': { type: 'string', default: '0' },
    'classifier-epochs': { type: 'string', default: '3' },
  },
});
const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got '${args[name]}'`);
  return v;
};
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

const out = args.out as string;
const stateDir = args.state ?? out;
const emaOnly = resolvePath(stateDir) !== resolvePath(out);
const targetSteps = num('steps');
const deadline = num('max-minutes') > 0 ? Date.now() + num('max-minutes') * 60_000 : Infinity;
const batchSize = num('batch');
const seed = num('seed');
await useBackend('wasm');
const data = loadGeneratorData(generatorSource(args.dataset, args['image-size']));
for (const n of data.notes) log(n);
const { task } = data;
const config: UNetConfig = {
  ...DEFAULT_UNET_CONFIG,
  imageShape: [...task.inputShape],
  numClasses: task.classNames.length,
  channels: (args.channels as string).split(',').map(Number) as [number, number, number],
  patchSize: num('patch') as 1 | 2,
};
const options = { ...DEFAULT_TRAINER_OPTIONS, learningRate: num('lr') };
const schedule = cosineSchedule(1000);

const pool = data.publicPool;
log(`task ${task.name} ${task.inputShape.join('x')}, ${task.classNames.length} classes; public pool: ${pool.count} images (held out of every client's data)`);

mkdirSync(out, { recursive: true });
const previous = readCheckpoint(stateDir);
const trainer = new DdpmTrainer(config, schedule, options, seed);
if (previous) {
  await trainer.restore(previous);
  log(`resumed from step ${trainer.step}`);
}
log(`U-Net ${JSON.stringify(config.channels)} patch ${config.patchSize}: ${countParams(trainer.params)} parameters`);
const startedStep = trainer.step;
const elapsedBefore = Number(previous?.notes.trainingSeconds ?? 0);

// Replicas start from the same state as the main trainer and apply the same updates.
const resumeFiles = readCheckpointFiles(stateDir);
const workers: Worker[] = [];
for (let i = 1; i < num('workers'); i++) {
  const init: GradWorkerInit = { config, options, scheduleSteps: schedule.steps, seed, resume: resumeFiles };
  const w = new Worker(new URL('./grad-worker-entry.mjs', import.meta.url), { workerData: init });
  await new Promise<void>((resolve, reject) => {
    w.once('message', (m: GradReply) => (m.kind === 'ready' ? resolve() : reject(new Error(JSON.stringify(m)))));
    w.once('error', reject);
  });
  workers.push(w);
}
const ask = (w: Worker, req: GradRequest, transfer: ArrayBuffer[] = []): Promise<GradReply> =>
  new Promise((resolve, reject) => {
    w.once('message', (m: GradReply) => (m.kind === 'error' ? reject(new Error(m.error)) : resolve(m)));
    w.postMessage(req, transfer);
  });

const classifierTrain = num('classifier-samples') > 0
  ? subset(data.classifierTrain, Array.from({ length: Math.min(num('classifier-samples'), data.classifierTrain.count) }, (_, i) => i))
  : data.classifierTrain;
const classifier = loadOrTrainClassifier(out, taskSpec(task), classifierTrain, data.validation, log, num('classifier-epochs'));

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { stopping = true; log(`${signal}: saving after this step`); });

const save = async () => {
  const trainingSeconds = elapsedBefore + (performance.now() - t0) / 1000;
  const checkpoint = await trainer.toCheckpoint({
    command: `npm run train-generator -- ${process.argv.slice(2).join(' ')}`,
    data: data.description,
    batchSize, trainingSeconds: Math.round(trainingSeconds),
  });
  writeCheckpoint(stateDir, checkpoint);
  if (emaOnly) writeCheckpoint(out, checkpoint, { emaOnly: true });
};

const t0 = performance.now();
let lossWindow: number[] = [];
while (trainer.step < targetSteps && !stopping && Date.now() < deadline) {
  const rng = createRng(deriveSeed(seed, 100, trainer.step));
  const rows = Array.from({ length: batchSize }, () => randomInt(rng, pool.count));
  const shards = Array.from({ length: workers.length + 1 }, (_, i) => rows.filter((_, j) => j % (workers.length + 1) === i));
  const stepSeed = deriveSeed(seed, 200, trainer.step);
  const asked = workers.map((w, i) => {
    const shard = subset(pool, shards[i + 1] as number[]);
    return ask(w, { kind: 'grads', images: shard.images, labels: shard.labels, seed: deriveSeed(stepSeed, i + 1) });
  });
  const own = subset(pool, shards[0] as number[]);
  const mine = trainer.computeGradients(own.images, own.labels, deriveSeed(stepSeed, 0));
  const theirs = (await Promise.all(asked)) as Extract<GradReply, { kind: 'grads' }>[];
  // Weighted by shard size, so the average equals the full-batch gradient.
  const sizes = shards.map((s) => s.length);
  const avg = new Map<string, Float32Array>();
  for (const [name, g] of mine.grads) {
    const acc = g.map((v) => v * (sizes[0] as number));
    theirs.forEach((t, i) => {
      const other = t.grads[t.names.indexOf(name)] as Float32Array;
      for (let j = 0; j < acc.length; j++) acc[j] += (other[j] as number) * (sizes[i + 1] as number);
    });
    for (let j = 0; j < acc.length; j++) acc[j] /= batchSize;
    avg.set(name, acc);
  }
  const names = [...avg.keys()];
  await Promise.all(workers.map((w) => ask(w, { kind: 'apply', names, grads: names.map((n) => (avg.get(n) as Float32Array).slice()) })));
  trainer.applyGradients(avg);
  const loss = (mine.loss * (sizes[0] as number) + theirs.reduce((s, t, i) => s + t.loss * (sizes[i + 1] as number), 0)) / batchSize;
  lossWindow.push(loss);

  if (trainer.step % 10 === 0) {
    const secPerStep = (performance.now() - t0) / 1000 / (trainer.step - startedStep);
    const meanLoss = lossWindow.reduce((a, b) => a + b, 0) / lossWindow.length;
    trainer.history.push({ step: trainer.step, loss: meanLoss, elapsedSec: Math.round(elapsedBefore + (performance.now() - t0) / 1000) });
    lossWindow = [];
    const etaMin = Math.min((targetSteps - trainer.step) * secPerStep, (deadline - Date.now()) / 1000) / 60;
    const endStep = Math.min(targetSteps, trainer.step + Math.floor((deadline - Date.now()) / 1000 / secPerStep));
    log(`step ${trainer.step}/${targetSteps} loss ${meanLoss.toFixed(4)} ${secPerStep.toFixed(2)} s/step, ETA ${etaMin.toFixed(0)} min` +
      (endStep < targetSteps ? ` (--max-minutes stops it near step ${endStep})` : ''));
  }
  if (trainer.step % num('fidelity-every') === 0) {
    const generator = DiffusionGenerator.fromCheckpoint(await trainer.toCheckpoint({}));
    const { report } = await measureFidelity(generator, classifier.model, classifier.validationAccuracy, num('fidelity-per-class'), 7);
    generator.dispose();
    const last = trainer.history[trainer.history.length - 1];
    if (last && last.step === trainer.step) last.fidelity = report.overall;
    log(`fidelity at step ${trainer.step}: ${(report.overall * 100).toFixed(1)}% [${report.perClass.map((p) => (p * 100).toFixed(0)).join(' ')}]`);
  }
  if (trainer.step % num('checkpoint-every') === 0) await save();
  if (trainer.step % num('snapshot-every') === 0) {
    writeCheckpoint(`${out}/snapshots/step-${String(trainer.step).padStart(6, '0')}`, await trainer.toCheckpoint({ snapshotOf: out }), { emaOnly: true });
  }
}
await save();
log(`saved step ${trainer.step} to ${out}`);
await Promise.all(workers.map((w) => w.terminate()));
