/** A training worker: one wasm backend per thread, so the simulation uses every core. */
import { parentPort, workerData } from 'node:worker_threads';
import { modelManifest } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel, getFlatWeights, setFlatWeights } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import { evaluateModel } from '@fedtsa/core/round/score';
import { trainLocal } from '@fedtsa/core/train';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import type { Job, Outcome, SampleJob, SharedSplit, WorkerInit, WorkerReply } from './messages.ts';

const init = workerData as WorkerInit;
const [height, width, channels] = init.spec.inputShape;

function view(split: SharedSplit): LabelledImages {
  return {
    images: new Float32Array(split.images), labels: new Uint8Array(split.labels), count: split.count,
    height, width, channels, numClasses: init.spec.numClasses,
  };
}

const splits = { train: view(init.train), test: view(init.test) };
const models = new Map<number, tfl.LayersModel>();

function modelFor(widthRatio: number, weights: Float32Array): tfl.LayersModel {
  let model = models.get(widthRatio);
  if (!model) models.set(widthRatio, (model = buildModel(init.spec, widthRatio)));
  setFlatWeights(model, weights, modelManifest(init.spec, widthRatio));
  return model;
}

/** Generators stay loaded between rounds; a run uses one, a sweep at most a few. */
const generators = new Map<string, DiffusionGenerator>();

function generatorFor(job: SampleJob): DiffusionGenerator {
  const key = `${job.generatorDir}|${job.steps}|${job.guidance}`;
  let generator = generators.get(key);
  if (!generator) {
    const checkpoint = readCheckpoint(job.generatorDir);
    if (!checkpoint) throw new Error(`no generator checkpoint in ${job.generatorDir}`);
    generators.set(key, (generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps: job.steps, guidance: job.guidance })));
  }
  return generator;
}

async function run(job: Job): Promise<Outcome> {
  const t0 = performance.now();
  if (job.kind === 'sample') {
    const out = await generatorFor(job).sample(job.labels, job.seed);
    return { kind: 'sample', images: out.images, elapsedMs: performance.now() - t0 };
  }
  if (job.kind === 'train') {
    const data = subset(splits.train, job.indices);
    const model = modelFor(job.widthRatio, job.weights);
    const result = trainLocal(model, data, {
      epochs: job.epochs, batchSize: job.batchSize, learningRate: job.learningRate, optimizer: job.optimizer, rng: createRng(job.seed), ...job.training,
    });
    return { kind: 'train', weights: getFlatWeights(model), numSamples: data.count, loss: result.loss, elapsedMs: performance.now() - t0 };
  }
  const data = subset(splits[job.split], job.indices);
  const result = evaluateModel(init.spec, job.widthRatio, job.weights, data, models);
  return { kind: 'evaluate', ...result, elapsedMs: performance.now() - t0 };
}

await useBackend('wasm');
parentPort?.on('message', async ({ id, job }: { id: number; job: Job }) => {
  let reply: WorkerReply;
  try {
    reply = { id, ok: true, outcome: await run(job) };
  } catch (err) {
    reply = { id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  const transfer = !reply.ok ? [] : reply.outcome.kind === 'train' ? [reply.outcome.weights.buffer as ArrayBuffer]
    : reply.outcome.kind === 'sample' ? [reply.outcome.images.buffer as ArrayBuffer] : [];
  parentPort?.postMessage(reply, transfer);
});
parentPort?.postMessage({ ready: true });
