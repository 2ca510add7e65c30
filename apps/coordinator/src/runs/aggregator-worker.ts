/**
 * The round's heavy steps off the coordinator's main thread, so sockets stay responsive while
 * the server computes: the core's close (round/close.ts: screen, capped Stage 1, invariants,
 * Stage 2) and the scores (round/score.ts). One worker serves every run; each run keeps its
 * synthetic pool here between rounds.
 *
 * The pool is never generated here: the generation worker makes its chunks ahead of the rounds
 * into the pool store, and the pool reads what is made when a round closes (core
 * SyntheticPool over a ReadyChunkSource, when the Stage 2 step runs: at the close, or with
 * overlap while the next round trains). Round 1 of a fresh run may find only part of the fill:
 * Stage 2 runs on it when it holds at least MIN_POOL_BATCHES batches, and is skipped that round
 * otherwise (stage2Skipped). The round's stage2Stats record what the pool held (poolReady of
 * poolSize, poolRound), so a round's result is reproducible from its record.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { closeRound, type CarriedServerStep } from '@fedtsa/core/round/close';
import { evaluateModel, scoreModels, type ClusterScore } from '@fedtsa/core/round/score';
import { resolveMutualLearningOptions } from '@fedtsa/core/stage2/mutual-learning';
import { storedChunks } from '@fedtsa/core/stage2/pool-store';
import { createStage2Step, stage2Seed } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import { createStrategy } from '@fedtsa/core/strategy/strategies';
import type { ClusterModel, ServerStep } from '@fedtsa/core/strategy/types';
import { readCheckpointFiles } from '@fedtsa/node-io/checkpoint-files';
import { checkpointIdentity, DiskPoolStore } from '@fedtsa/node-io/pool-store-disk';
import { sharedParallelMutualLearning } from '@fedtsa/node-io/parallel-mutual-learning';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mutualLearningOf } from './settings.ts';
import type { AggregateRequest, AggregateResult, AggregatorInit, AggregatorReply, TaskMessage } from './aggregator-messages.ts';

const init = workerData as AggregatorInit;
await useBackend('wasm');
const poolStore = new DiskPoolStore(init.poolDir);

/** Stage 2 runs on a partly made pool once it holds this many mutual-learning batches (a round's batches are drawn without repeats). */
const MIN_POOL_BATCHES = 2;

/** Per task: its spec, its test set when the server has one, and the models kept by width for scoring. */
const tasks = new Map<string, { spec: ModelSpec; test?: LabelledImages; generatorDir?: string; models: Map<number, tfl.LayersModel> }>();

function addTask(m: TaskMessage): void {
  const [height, width, channels] = m.spec.inputShape;
  const test = m.test && {
    images: new Float32Array(m.test.images), labels: new Uint8Array(m.test.labels), count: m.test.count, height, width, channels, numClasses: m.spec.numClasses,
  };
  tasks.set(m.name, { spec: m.spec, test, generatorDir: m.generatorDir, models: new Map() });
}

function taskOf(name: string) {
  const task = tasks.get(name);
  if (!task) throw new Error(`aggregation worker: unknown task '${name}'`);
  return task;
}

const stage2ByRun = new Map<string, ServerStep | null>();

/** The run's Stage 2 over the chunks its task's generator made (the catalog checked it fits); none without one. */
function stage2For(req: AggregateRequest, spec: ModelSpec, generatorDir: string | undefined): ServerStep | undefined {
  if (!req.stage2.enabled || !generatorDir) return undefined;
  let step = stage2ByRun.get(req.runId);
  if (step === undefined) {
    const files = readCheckpointFiles(generatorDir);
    if (!files) {
      stage2ByRun.set(req.runId, null);
      return undefined;
    }
    const s = req.stage2;
    // The generation worker's chunks, keyed as it keyed them: the same chunks and seeds as the simulation's pool.
    const source = storedChunks(poolStore, { checkpoint: checkpointIdentity(files), steps: s.sampleSteps, guidance: s.guidance }, spec.inputShape, spec.numClasses);
    const pool = new SyntheticPool(source, { size: s.poolSize, refreshFraction: s.refreshFraction, firstRound: 1 });
    const mutualLearning = mutualLearningOf(s);
    const { batchSize } = resolveMutualLearningOptions(mutualLearning, 'aggregation worker');
    step = createStage2Step({
      spec, pool, seed: stage2Seed(req.seed), mutualLearning, minPoolSamples: Math.min(s.poolSize, MIN_POOL_BATCHES * batchSize),
      runMutualLearning: sharedParallelMutualLearning().run,
    });
    stage2ByRun.set(req.runId, step);
  }
  return step ?? undefined;
}

/** Scores on the first `samples` test images; none when the server has no test set for the task (clients evaluate). */
async function score(taskName: string, models: readonly ClusterModel[], samples: number): Promise<ClusterScore[]> {
  const { spec, test, models: cache } = taskOf(taskName);
  if (!test) return [];
  const n = Math.min(samples, test.count);
  const per = test.height * test.width * test.channels;
  const data = { ...test, count: n, images: test.images.subarray(0, n * per), labels: test.labels.subarray(0, n) };
  return scoreModels(models, (widthRatio, weights) => evaluateModel(spec, widthRatio, weights, data, cache));
}

/**
 * Overlap (run setting stage2.overlap): per run, the deferred server step of its last close,
 * running in this worker while the next round's clients train. The next close waits for it and
 * adds its change. A step that failed carries nothing (the round record says why). Not saved: after
 * a restart the first close has nothing to carry.
 */
const deferredByRun = new Map<string, Promise<CarriedServerStep | { failed: string; round: number }>>();

async function aggregate(req: AggregateRequest): Promise<AggregateResult> {
  const { spec, generatorDir } = taskOf(req.task);
  const serverStep = req.models.length > 1 ? stage2For(req, spec, generatorDir) : undefined;
  const strategy = createStrategy(serverStep ? 'fedtsa' : 'fedtsa-stage1', {
    spec, models: req.models, serverStep,
    clusters: req.models.map((m) => ({ index: m.clusterIndex, widthRatio: m.widthRatio, memberIds: m.memberIds })),
  });
  const pending = deferredByRun.get(req.runId);
  deferredByRun.delete(req.runId);
  const previous = pending ? await pending : undefined;
  const carried = previous && 'changes' in previous ? previous : undefined;
  const { serverStepMs, deferred, ...outcome } = await closeRound(strategy, {
    round: req.round, updates: req.updates, sent: new Map(req.sent), history: new Map(req.history), policy: req.policy,
    carried, deferServerStep: req.stage2.overlap && !req.lastRound,
  });
  // Started on a timer, so after this close's scores and reply: it runs while the next round trains.
  if (deferred) {
    const run = new Promise((resolve) => setTimeout(resolve, 0)).then(() => deferred.run());
    deferredByRun.set(req.runId, run.catch((err: unknown) => ({ failed: err instanceof Error ? err.message : String(err), round: deferred.round })));
  }
  const serverStepStats = previous && 'failed' in previous
    ? { ...outcome.serverStepStats, carriedFailedFromRound: previous.round }
    : outcome.serverStepStats;
  return { ...outcome, serverStepStats, stage2Ms: serverStepMs, metrics: await score(req.task, outcome.models, req.evalSamples) };
}

type Request = AggregateRequest | TaskMessage | { kind: 'evaluate'; task: string; models: ClusterModel[]; evalSamples: number };

parentPort?.on('message', async (msg: { id: number; request: Request }) => {
  let reply: AggregatorReply;
  try {
    const request = msg.request;
    if (!('kind' in request)) reply = { id: msg.id, ok: true, result: await aggregate(request) };
    else if (request.kind === 'task') {
      addTask(request);
      reply = { id: msg.id, ok: true, metrics: [] };
    } else reply = { id: msg.id, ok: true, metrics: await score(request.task, request.models, request.evalSamples) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
parentPort?.postMessage({ ready: true });
