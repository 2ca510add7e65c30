/**
 * Stage 1, Stage 2 and evaluation off the coordinator's main thread, so sockets stay
 * responsive while the server computes. One worker serves every run; each run keeps its
 * synthetic pool here between rounds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fedAvg } from '@fedtsa/core/aggregate';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { buildModel, setFlatWeights } from '@fedtsa/core/model';
import { createStage2Step } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import type { ServerStep } from '@fedtsa/core/strategy/types';
import { evaluate } from '@fedtsa/core/train';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import type { AggregateRequest, AggregateResult, AggregatorInit, AggregatorReply } from './aggregator-messages.ts';

const init = workerData as AggregatorInit;
await useBackend('wasm');
const [height, width, channels] = init.spec.inputShape;
const test: LabelledImages = {
  images: new Float32Array(init.testImages), labels: new Uint8Array(init.testLabels), count: init.testCount,
  height, width, channels, numClasses: init.spec.numClasses,
};

const stage2ByRun = new Map<string, { step: ServerStep; generator: DiffusionGenerator }>();

function stage2For(req: AggregateRequest): ServerStep | undefined {
  if (!req.stage2.enabled || !init.generatorDir) return undefined;
  let entry = stage2ByRun.get(req.runId);
  if (!entry) {
    const checkpoint = readCheckpoint(init.generatorDir);
    if (!checkpoint) return undefined;
    const s = req.stage2;
    const generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps: s.sampleSteps, guidance: s.guidance });
    const pool = new SyntheticPool(generator, { size: s.poolSize, refreshFraction: s.refreshFraction });
    const step = createStage2Step({
      spec: init.spec, pool, seed: req.seed,
      mutualLearning: { steps: s.steps, batchSize: s.batchSize, temperature: s.temperature, lambda: s.lambda, learningRate: s.learningRate, optimizer: s.optimizer },
    });
    stage2ByRun.set(req.runId, (entry = { step, generator }));
  }
  return entry.step;
}

function evaluateModel(spec: ModelSpec, widthRatio: number, weights: Float32Array, samples: number) {
  const model = buildModel(spec, widthRatio);
  try {
    setFlatWeights(model, weights, modelManifest(spec, widthRatio));
    const n = Math.min(samples, test.count);
    return evaluate(model, { ...test, count: n, images: test.images.subarray(0, n * height * width * channels), labels: test.labels.subarray(0, n) });
  } finally {
    model.dispose();
  }
}

async function aggregate(req: AggregateRequest): Promise<AggregateResult> {
  const t0 = performance.now();
  const models = req.models.map((m) => {
    const updates = req.updates.filter((u) => u.clusterIndex === m.clusterIndex);
    return updates.length > 0 ? { ...m, weights: fedAvg(updates) } : m;
  });
  const stage1Ms = performance.now() - t0;
  let stage2Ms = 0;
  let stage2Stats: Record<string, number> = {};
  let out = models;
  const step = models.length > 1 ? stage2For(req) : undefined;
  if (step) {
    const t1 = performance.now();
    const report = await step(req.round, models);
    out = report.models;
    stage2Stats = report.stats;
    stage2Ms = performance.now() - t1;
  }
  const metrics = out.map((m) => ({ clusterIndex: m.clusterIndex, ...evaluateModel(init.spec, m.widthRatio, m.weights, req.evalSamples) }));
  return { models: out, stage1Ms, stage2Ms, stage2Stats, metrics };
}

parentPort?.on('message', async (msg: { id: number; request: AggregateRequest | { kind: 'evaluate'; models: AggregateRequest['models']; evalSamples: number } }) => {
  let reply: AggregatorReply;
  try {
    const request = msg.request;
    if ('kind' in request) {
      const metrics = request.models.map((m) => ({ clusterIndex: m.clusterIndex, ...evaluateModel(init.spec, m.widthRatio, m.weights, request.evalSamples) }));
      reply = { id: msg.id, ok: true, result: { models: request.models, stage1Ms: 0, stage2Ms: 0, stage2Stats: {}, metrics } };
    } else {
      reply = { id: msg.id, ok: true, result: await aggregate(request) };
    }
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
parentPort?.postMessage({ ready: true });
