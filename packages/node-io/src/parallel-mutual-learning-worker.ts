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
import { controlLayout, shardRange, type Reply, type Request, type ScreenRequest, type ScreenResult, type TrainRequest, type TrainResult } from './parallel-mutual-learning-messages.ts';

await useBackend('wasm');

/** Another worker failed: this one stops at its next wait. */
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

function train(req: TrainRequest): TrainResult {
  if (!round) throw new Error('parallel mutual learning worker: train request before a screen request');
  const { models, data } = round;
  const control = new Int32Array(req.control);
  const at = controlLayout(req.ring, req.workers);
  const optimizers: tf.Optimizer[] = [];
  /** Sleeps until control[index] may have changed from `value` (or 50 ms, to see an abort). */
  const waitOn = (index: number, value: number) => {
    if (Atomics.load(control, at.abort) !== 0) throw new Aborted('stopped: another worker failed');
    Atomics.wait(control, index, value, 50);
  };
  try {
    for (const _ of models) optimizers.push(createOptimizer(req.optimizer, req.learningRate));
    const learns = req.roles ? req.roles.learns : models.map(() => true);
    const roles = req.roles ?? undefined;
    const S = req.shards;
    const floats = models.reduce((n, m, k) => n + (learns[k] ? gradientLength(m) : 0), 0);
    const exchange = new Float32Array(req.exchange);
    if (exchange.length !== req.ring * S * floats) throw new Error(`parallel mutual learning worker: exchange holds ${exchange.length} floats, expected ${req.ring * S * floats}`);
    const slotOf = (step: number, shard: number) => exchange.subarray(((step % req.ring) * S + shard) * floats, ((step % req.ring) * S + shard + 1) * floats);
    const ce = new Float64Array(req.ce);
    const sum = new Float32Array(floats);
    const b = req.batchSize;
    const opts = { temperature: req.temperature, lambda: req.lambda };

    const probeKl = (): number[] => {
      const [plo, phi] = shardRange(req.probeRows.length, req.worker, req.workers);
      if (phi <= plo) return models.map(() => 0);
      const { x, y } = makeBatch(data, req.probeRows.subarray(plo, phi));
      try {
        return klToMean(models, x, req.temperature, req.klTeaches).map((kl) => kl * ((phi - plo) / req.probeRows.length));
      } finally {
        tf.dispose([x, y]);
      }
    };

    /** Shard `shard` of step `step`: its gradients times its share of the batch into its slot, its cross-entropy into `ce`. */
    const computeShard = (step: number, shard: number) => {
      const [lo, hi] = shardRange(b, shard, S);
      const slot = slotOf(step, shard);
      if (hi <= lo) {
        slot.fill(0);
        return;
      }
      const { x, y } = makeBatch(data, req.rows.subarray(step * b + lo, step * b + hi));
      try {
        const g = mutualLearningGradients(models, x, y, opts, roles, 'parallel mutual learning worker');
        lap('gradientMs');
        writeFlatGradients(g.grads, (hi - lo) / b, slot);
        ce[step * S + shard] = ((hi - lo) / b) * mean(g.cePerModel.filter((_, k) => learns[k]));
      } finally {
        tf.dispose([x, y]);
      }
    };

    const klBefore = probeKl();
    const timings = { gradientMs: 0, exchangeMs: 0, waitMs: 0, applyMs: 0, shards: 0 };
    let t = performance.now();
    const lap = (key: 'gradientMs' | 'exchangeMs' | 'waitMs' | 'applyMs') => {
      const t1 = performance.now();
      timings[key] += t1 - t;
      t = t1;
    };
    for (let step = 0; step < req.steps; step++) {
      const fault = req.fault?.step === step ? req.fault : undefined;
      if (fault?.kind === 'exit') process.exit(3);
      if (fault?.kind === 'throw') throw new Error(`fault injected for a test at step ${step}`);
      if (fault?.kind === 'stall') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.ms ?? 100);
      const r = step % req.ring;
      const base = Math.floor(step / req.ring) * S;
      // Ring slot r last held step - ring: every worker must have applied that step before it is overwritten.
      for (let w = 0; w < req.workers; w++) {
        for (let a = Atomics.load(control, at.applied + w); a < step - req.ring + 1; a = Atomics.load(control, at.applied + w)) waitOn(at.applied + w, a);
      }
      lap('waitMs');
      // Claim this step's shards until none is left (a shard claimed is computed by its claimer only).
      for (let c = Atomics.load(control, at.claimed + r); c < base + S; c = Atomics.load(control, at.claimed + r)) {
        if (Atomics.compareExchange(control, at.claimed + r, c, c + 1) !== c) continue;
        computeShard(step, c - base);
        timings.shards++;
        Atomics.add(control, at.done + r, 1);
        Atomics.notify(control, at.done + r);
        lap('exchangeMs');
      }
      for (let d = Atomics.load(control, at.done + r); d < base + S; d = Atomics.load(control, at.done + r)) waitOn(at.done + r, d);
      lap('waitMs');
      // Every worker sums the shards in shard order, so every replica takes the same step.
      sum.set(slotOf(step, 0));
      for (let s = 1; s < S; s++) {
        const other = slotOf(step, s);
        for (let i = 0; i < floats; i++) sum[i]! += other[i]!;
      }
      lap('exchangeMs');
      applyMutualLearningGradients(models, optimizers, readFlatGradients(models, learns, sum));
      Atomics.store(control, at.applied + req.worker, step + 1);
      Atomics.notify(control, at.applied + req.worker);
      lap('applyMs');
    }
    const klAfter = probeKl();
    const weights = req.returnWeights ? models.map((m, k) => (learns[k] ? getFlatWeights(m) : null)) : null;
    return { kind: 'train', klBefore, klAfter, weights, numTensors: 0, timings };
  } catch (err) {
    // The others would wait for this worker's shards or steps forever: they see the flag within 50 ms.
    Atomics.store(control, at.abort, 1);
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
