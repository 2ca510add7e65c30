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
import { checkModelStep } from '@fedtsa/core/screening/invariants';
import { l2Distance } from '@fedtsa/core/screening/update-screen';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import type { ClusterModel, ServerStep } from '@fedtsa/core/strategy/types';
import { evaluate } from '@fedtsa/core/train';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import type { AggregateRequest, AggregateResult, AggregatorInit, AggregatorReply, Rollback } from './aggregator-messages.ts';

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
      mutualLearning: {
        steps: s.steps, batchSize: s.batchSize, temperature: s.temperature, lambda: s.lambda, learningRate: s.learningRate, optimizer: s.optimizer,
        teacherRule: s.teacherRule ? { maxAbsLogit: s.teacherMaxAbsLogit, minSkill: s.teacherMinSkill, maxLossRatio: s.teacherMaxLossRatio } : null,
      },
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

/**
 * Keeps each model of `next` that passes the round invariants against its cluster's start,
 * and puts `fallback`'s model back where one does not (noting the rollback).
 */
function enforceInvariants(req: AggregateRequest, step: Rollback['step'], next: ClusterModel[], fallback: ClusterModel[], rollbacks: Rollback[]): ClusterModel[] {
  return next.map((m, k) => {
    const start = req.models[k] as ClusterModel;
    const limit = req.limits.find((l) => l.clusterIndex === m.clusterIndex);
    if (!limit) throw new Error(`no change limit for cluster ${m.clusterIndex}`);
    const check = checkModelStep(start.weights, m.weights, limit);
    if (check.ok) return m;
    rollbacks.push({ clusterIndex: m.clusterIndex, step, reason: check.reason, change: check.change, maxChange: limit.maxChange });
    return fallback[k] as ClusterModel;
  });
}

async function aggregate(req: AggregateRequest): Promise<AggregateResult> {
  const t0 = performance.now();
  const rollbacks: Rollback[] = [];
  const averaged = req.models.map((m) => {
    const updates = req.updates.filter((u) => u.clusterIndex === m.clusterIndex);
    return updates.length > 0 ? { ...m, weights: fedAvg(updates) } : m;
  });
  // A cluster whose average breaks an invariant keeps the model it started the round with.
  const models = enforceInvariants(req, 'stage1', averaged, req.models, rollbacks);
  const stage1Ms = performance.now() - t0;
  let stage2Ms = 0;
  let stage2Stats: Record<string, number> = {};
  let teachers: AggregateResult['teachers'] = [];
  let out = models;
  const step = models.length > 1 ? stage2For(req) : undefined;
  if (step) {
    const t1 = performance.now();
    // A cluster that no accepted update reached, or whose average was rolled back, has nothing of this round to teach.
    const withoutTeaching = new Map<number, string>();
    for (const m of models) {
      if (rollbacks.some((r) => r.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'its Stage 1 result was rolled back this round');
      else if (!req.updates.some((u) => u.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'no accepted update reached it this round');
    }
    const report = await step(req.round, models, { withoutTeaching });
    // A cluster whose Stage 2 result breaks an invariant keeps its Stage 1 result.
    out = enforceInvariants(req, 'stage2', report.models, models, rollbacks);
    stage2Stats = report.stats;
    teachers = report.teachers ?? [];
    stage2Ms = performance.now() - t1;
  }
  const metrics = out.map((m) => ({ clusterIndex: m.clusterIndex, ...evaluateModel(init.spec, m.widthRatio, m.weights, req.evalSamples) }));
  const changes = out.map((m, k) => ({ clusterIndex: m.clusterIndex, change: l2Distance((req.models[k] as ClusterModel).weights, m.weights) }));
  return { models: out, stage1Ms, stage2Ms, stage2Stats, metrics, rollbacks, teachers, changes };
}

parentPort?.on('message', async (msg: { id: number; request: AggregateRequest | { kind: 'evaluate'; models: AggregateRequest['models']; evalSamples: number } }) => {
  let reply: AggregatorReply;
  try {
    const request = msg.request;
    if ('kind' in request) {
      const metrics = request.models.map((m) => ({ clusterIndex: m.clusterIndex, ...evaluateModel(init.spec, m.widthRatio, m.weights, request.evalSamples) }));
      reply = { id: msg.id, ok: true, result: { models: request.models, stage1Ms: 0, stage2Ms: 0, stage2Stats: {}, metrics, rollbacks: [], teachers: [], changes: [] } };
    } else {
      reply = { id: msg.id, ok: true, result: await aggregate(request) };
    }
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
parentPort?.postMessage({ ready: true });
