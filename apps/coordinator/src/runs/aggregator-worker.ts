/**
 * The round's heavy steps off the coordinator's main thread, so sockets stay responsive while
 * the server computes: the core's close (round/close.ts: screen, capped Stage 1, invariants,
 * Stage 2) and the scores (round/score.ts). One worker serves every run; each run keeps its
 * synthetic pool here between rounds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { closeRound } from '@fedtsa/core/round/close';
import { evaluateModel, scoreModels, type ClusterScore } from '@fedtsa/core/round/score';
import { ChunkedSource } from '@fedtsa/core/stage2/chunked-source';
import { createStage2Step, stage2Seed } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import { createStrategy } from '@fedtsa/core/strategy/strategies';
import type { ClusterModel, ServerStep } from '@fedtsa/core/strategy/types';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mutualLearningOf } from './settings.ts';
import type { AggregateRequest, AggregateResult, AggregatorInit, AggregatorReply } from './aggregator-messages.ts';

const init = workerData as AggregatorInit;
await useBackend('wasm');
const [height, width, channels] = init.spec.inputShape;
const test: LabelledImages = {
  images: new Float32Array(init.testImages), labels: new Uint8Array(init.testLabels), count: init.testCount,
  height, width, channels, numClasses: init.spec.numClasses,
};

const stage2ByRun = new Map<string, ServerStep>();

function stage2For(req: AggregateRequest): ServerStep | undefined {
  if (!req.stage2.enabled || !init.generatorDir) return undefined;
  let step = stage2ByRun.get(req.runId);
  if (!step) {
    const checkpoint = readCheckpoint(init.generatorDir);
    if (!checkpoint) return undefined;
    const s = req.stage2;
    // Drawn in the same chunks as the simulation's pool, so both runners see the same images.
    const source = ChunkedSource.over(DiffusionGenerator.fromCheckpoint(checkpoint, { steps: s.sampleSteps, guidance: s.guidance }));
    const pool = new SyntheticPool(source, { size: s.poolSize, refreshFraction: s.refreshFraction });
    step = createStage2Step({
      spec: init.spec, pool, seed: stage2Seed(req.seed),
      mutualLearning: mutualLearningOf(s),
    });
    stage2ByRun.set(req.runId, step);
  }
  return step;
}

const evalModels = new Map<number, tfl.LayersModel>();

async function score(models: readonly ClusterModel[], samples: number): Promise<ClusterScore[]> {
  const n = Math.min(samples, test.count);
  const data = { ...test, count: n, images: test.images.subarray(0, n * height * width * channels), labels: test.labels.subarray(0, n) };
  return scoreModels(models, (widthRatio, weights) => evaluateModel(init.spec, widthRatio, weights, data, evalModels));
}

async function aggregate(req: AggregateRequest): Promise<AggregateResult> {
  const serverStep = req.models.length > 1 ? stage2For(req) : undefined;
  const strategy = createStrategy(serverStep ? 'fedtsa' : 'fedtsa-stage1', {
    spec: init.spec, models: req.models, serverStep,
    clusters: req.models.map((m) => ({ index: m.clusterIndex, widthRatio: m.widthRatio, memberIds: m.memberIds })),
  });
  const { serverStepMs, ...outcome } = await closeRound(strategy, {
    round: req.round, updates: req.updates, sent: new Map(req.sent), history: new Map(req.history), policy: req.policy,
  });
  return { ...outcome, stage2Ms: serverStepMs, metrics: await score(outcome.models, req.evalSamples) };
}

parentPort?.on('message', async (msg: { id: number; request: AggregateRequest | { kind: 'evaluate'; models: ClusterModel[]; evalSamples: number } }) => {
  let reply: AggregatorReply;
  try {
    const request = msg.request;
    if ('kind' in request) reply = { id: msg.id, ok: true, metrics: await score(request.models, request.evalSamples) };
    else reply = { id: msg.id, ok: true, result: await aggregate(request) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
parentPort?.postMessage({ ready: true });
