/**
 * A worker thread of parallel-mutual-learning.ts. It keeps a replica of every cluster model and
 * of its optimizer, computes the gradients on its shard of each batch, and applies the sum of
 * all shards' gradients, read from shared memory in the same order by every worker: the
 * replicas stay identical without sending weights, and the main thread is not involved per step.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelManifest } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel, getFlatWeights, setFlatWeights } from '@fedtsa/core/model';
import { klToMean, mean } from '@fedtsa/core/stage2/mutual-learning';
import { applyMutualLearningGradients, gradientLength, mutualLearningGradients, readFlatGradients, writeFlatGradients } from '@fedtsa/core/stage2/mutual-learning-gradients';
import { scorePoolRows } from '@fedtsa/core/stage2/teachers';
import { createOptimizer, disposeOptimizer, makeBatch } from '@fedtsa/core/train';
import { CONTROL, shardRange, type Reply, type Request, type ScreenRequest, type ScreenResult, type TrainRequest, type TrainResult } from './parallel-mutual-learning-messages.ts';

await useBackend('wasm');

/** Another worker failed: this one stops at its next barrier. */
class Aborted extends Error {}

/** Models kept across rounds by (spec, position, width): building a tfjs-layers model is not free. */
const cache = new Map<string, tfl.LayersModel>();
/** The round begun by the last screen request. */
let round: { models: tfl.LayersModel[]; data: LabelledImages } | null = null;

function screen(req: ScreenRequest): ScreenResult {
  const [height, width, channels] = req.spec.inputShape;
  const data: LabelledImages = {
    images: new Float32Array(req.pool.images), labels: new Uint8Array(req.pool.labels), count: req.pool.count, height, width, channels, numClasses: req.pool.numClasses,
  };
  const models = req.models.map((m, k) => {
    const key = JSON.stringify([req.spec, k, m.widthRatio]);
    let model = cache.get(key);
    if (!model) {
      model = buildModel(req.spec, m.widthRatio);
      cache.set(key, model);
    }
    setFlatWeights(model, m.weights, modelManifest(req.spec, m.widthRatio));
    return model;
  });
  round = { models, data };
  const pool = { data, batch: (rows: ArrayLike<number>) => makeBatch(data, rows) };
  return { kind: 'screen', scores: models.map((model, k) => (req.models[k]?.finite ? scorePoolRows(model, pool, req.rowStart, req.rowEnd) : null)) };
}

/** Waits until every shard has arrived (a generation counter, so it can be reused at once); throws when some worker aborted. */
function barrier(control: Int32Array, shards: number): void {
  const generation = Atomics.load(control, CONTROL.generation);
  if (Atomics.add(control, CONTROL.arrived, 1) === shards - 1) {
    Atomics.store(control, CONTROL.arrived, 0);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
    return;
  }
  while (Atomics.load(control, CONTROL.generation) === generation) {
    if (Atomics.load(control, CONTROL.abort) !== 0) throw new Aborted('stopped: another worker failed');
    Atomics.wait(control, CONTROL.generation, generation, 1000);
  }
}

function train(req: TrainRequest): TrainResult {
  if (!round) throw new Error('parallel mutual learning worker: train request before a screen request');
  const { models, data } = round;
  const control = new Int32Array(req.control);
  const optimizers: tf.Optimizer[] = [];
  try {
    for (const _ of models) optimizers.push(createOptimizer(req.optimizer, req.learningRate));
    const learns = req.roles ? req.roles.learns : models.map(() => true);
    const roles = req.roles ?? undefined;
    const floats = models.reduce((n, m, k) => n + (learns[k] ? gradientLength(m) : 0), 0);
    const exchange = new Float32Array(req.exchange);
    if (exchange.length !== 2 * req.shards * floats) throw new Error(`parallel mutual learning worker: exchange holds ${exchange.length} floats, expected ${2 * req.shards * floats}`);
    const slotOf = (step: number, shard: number) => exchange.subarray(((step % 2) * req.shards + shard) * floats, ((step % 2) * req.shards + shard + 1) * floats);
    const sum = new Float32Array(floats);
    const b = req.batchSize;
    const [lo, hi] = shardRange(b, req.shard, req.shards);
    const share = (hi - lo) / b;
    const opts = { temperature: req.temperature, lambda: req.lambda };

    const probeKl = (): number[] => {
      const [plo, phi] = shardRange(req.probeRows.length, req.shard, req.shards);
      if (phi <= plo) return models.map(() => 0);
      const { x, y } = makeBatch(data, req.probeRows.subarray(plo, phi));
      try {
        return klToMean(models, x, req.temperature, req.klTeaches).map((kl) => kl * ((phi - plo) / req.probeRows.length));
      } finally {
        tf.dispose([x, y]);
      }
    };

    const klBefore = probeKl();
    let ceSum = 0;
    const timings = { gradientMs: 0, exchangeMs: 0, waitMs: 0, applyMs: 0 };
    let t = performance.now();
    const lap = (key: keyof typeof timings) => {
      const t1 = performance.now();
      timings[key] += t1 - t;
      t = t1;
    };
    for (let step = 0; step < req.steps; step++) {
      if (req.fault?.step === step) {
        if (req.fault.kind === 'exit') process.exit(3);
        throw new Error(`fault injected for a test at step ${step}`);
      }
      const slot = slotOf(step, req.shard);
      if (hi > lo) {
        const { x, y } = makeBatch(data, req.rows.subarray(step * b + lo, step * b + hi));
        try {
          const g = mutualLearningGradients(models, x, y, opts, roles, 'parallel mutual learning worker');
          lap('gradientMs');
          writeFlatGradients(g.grads, share, slot);
          ceSum += share * mean(g.cePerModel.filter((_, k) => learns[k]));
        } finally {
          tf.dispose([x, y]);
        }
      } else {
        slot.fill(0);
      }
      lap('exchangeMs');
      barrier(control, req.shards);
      lap('waitMs');
      // Every worker sums the shards in the same order, so every replica takes the same step.
      sum.set(slotOf(step, 0));
      for (let s = 1; s < req.shards; s++) {
        const other = slotOf(step, s);
        for (let i = 0; i < floats; i++) sum[i]! += other[i]!;
      }
      lap('exchangeMs');
      applyMutualLearningGradients(models, optimizers, readFlatGradients(models, learns, sum));
      lap('applyMs');
    }
    const klAfter = probeKl();
    const weights = req.returnWeights ? models.map((m, k) => (learns[k] ? getFlatWeights(m) : null)) : null;
    return { kind: 'train', klBefore, klAfter, ceSum, weights, numTensors: 0, timings };
  } catch (err) {
    // Wake the others: they would wait at the next barrier for this worker forever.
    Atomics.store(control, CONTROL.abort, 1);
    Atomics.notify(control, CONTROL.generation);
    throw err;
  } finally {
    for (const o of optimizers) disposeOptimizer(o);
  }
}

parentPort?.on('message', (msg: { id: number; request: Request }) => {
  let reply: Reply;
  try {
    const result = msg.request.kind === 'screen' ? screen(msg.request) : train(msg.request);
    if (result.kind === 'train') result.numTensors = tf.memory().numTensors;
    reply = { id: msg.id, ok: true, result };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err), aborted: err instanceof Aborted };
  }
  const transfer = reply.ok && reply.result.kind === 'train' ? (reply.result.weights ?? []).flatMap((w) => (w ? [w.buffer as ArrayBuffer] : [])) : [];
  parentPort?.postMessage(reply, transfer);
});
parentPort?.postMessage({ ready: true });
