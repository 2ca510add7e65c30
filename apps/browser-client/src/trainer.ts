/**
 * The capability benchmark and every round's local training. Normally it runs in a Web
 * Worker (train-worker.ts) so the page stays responsive; where module workers are missing,
 * or with ?worker=off, the page runs it in its own thread (main.ts). A round is the shared
 * client step (runClientStep, @fedtsa/protocol/client-step, with asynchronous reads); this
 * file adds its progress messages and pause, and hands the page an encoded update to send.
 * Tensors are disposed after every round; the page reads tf.memory().numTensors from each
 * 'trained' message. The model, the data's shape and the benchmark all come from the run's
 * task (Welcome.task), sent with the 'data' and 'benchmark' messages.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { BackendName } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import { taskSpec } from '@fedtsa/core/task';
import { trainLocalAsync } from '@fedtsa/core/train';
import { localHoldout, runClientStep, type ClientStepResult } from '@fedtsa/protocol/client-step';
import { decodeWeights } from '@fedtsa/protocol/codec';
import type { TrainingTask } from '@fedtsa/protocol/events';
import { BACKEND_ORDER, useBackend } from './backends.ts';
import { LOCAL_HOLDOUT_FRACTION, taskImages } from './task-images.ts';
import type { BackendTrial, FromWorker, TestFailure, ToWorker } from './worker-messages.ts';

/** The local data in the run's task's shape, and the task's model spec. */
let local: { spec: ModelSpec; data: LabelledImages } | undefined;
let paused = false;
/** Set by 'abort' (the participation policy is no longer met); cleared when a round starts. */
let aborted = false;

/** The round was stopped on purpose: not a backend failure, nothing to fall back from. */
class RoundAborted extends Error {}
export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;
let post: Post = () => { throw new Error('trainer: startTrainer() was not called'); };

/**
 * A backend that runs but computes wrong numbers is worse than a slow one (seen: WebGPU on a
 * software rasteriser returning zeros). Checks a matmul and a conv gradient against values
 * computed by hand.
 */
async function checkArithmetic(backend: BackendName): Promise<void> {
  const [productT, gradT] = tf.tidy(() => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, -1, 2, 0.5, 1], [3, 2]);
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const g = tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1]));
    return [tf.matMul(a, b), g];
  });
  // Asynchronous reads: synchronous ones return zeros on WebGPU in a worker.
  const product = Array.from(await productT.data()) as number[];
  const grad = Array.from(await gradT.data()) as number[];
  tf.dispose([productT, gradT]);
  // [[1-2+... ]]: row 0 = [1*1 + 2*(-1) + 3*0.5, 1*0 + 2*2 + 3*1] = [0.5, 7]; row 1 = [4 - 5 + 3, 0 + 10 + 6] = [2, 16]
  const expected = [0.5, 7, 2, 16];
  const productOk = expected.every((v, i) => Math.abs((product[i] as number) - v) < 1e-3);
  // the centre tap of a 3x3 'same' conv over a 4x4 image of ones sees 16 pixels, a corner tap 9
  const gradOk = Math.abs((grad[4] as number) - 16) < 1e-3 && Math.abs((grad[0] as number) - 9) < 1e-3;
  if (!productOk || !gradOk) {
    throw new Error(`${backend} computes wrong results (matmul ${product.map((v) => v.toFixed(2)).join(',')}; conv gradient ${grad[4]}, ${grad[0]})`);
  }
}

/** Samples/s of the training step of the task's width-1 model on one backend, within ~budgetMs. */
async function measure(backend: BackendName, budgetMs: number, spec: ModelSpec): Promise<number> {
  await useBackend(backend);
  await checkArithmetic(backend);
  const model = buildModel(spec, 1, 1);
  const batch = 16;
  const [height, width, channels] = spec.inputShape;
  const fake: LabelledImages = {
    images: new Float32Array(batch * height * width * channels).map((_, i) => (i % 7) / 7),
    labels: Uint8Array.from({ length: batch }, (_, i) => i % spec.numClasses),
    count: batch, height, width, channels, numClasses: spec.numClasses,
  };
  const options = { epochs: 1, batchSize: batch, learningRate: 0.01, optimizer: 'sgd' as const, rng: createRng(1) };
  const noWait = async () => {};
  try {
    await trainLocalAsync(model, fake, options, noWait); // warm-up: shader compilation, wasm setup
    let steps = 0;
    const start = performance.now();
    while (steps < 20 && (steps < 2 || performance.now() - start < budgetMs)) {
      await trainLocalAsync(model, fake, options, noWait);
      steps++;
    }
    return (steps * batch * 1000) / (performance.now() - start);
  } finally {
    model.dispose();
  }
}

async function benchmark(spec: ModelSpec, forced: BackendName | undefined, budgetMs: number): Promise<void> {
  const started = performance.now();
  const candidates = forced ? [forced] : BACKEND_ORDER;
  const trials: BackendTrial[] = [];
  for (const backend of candidates) {
    try {
      trials.push({ backend, samplesPerSec: await measure(backend, budgetMs / candidates.length, spec) });
    } catch (err) {
      trials.push({ backend, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const ok = trials.filter((t) => t.samplesPerSec !== undefined).sort((a, b) => (b.samplesPerSec as number) - (a.samplesPerSec as number));
  const best = ok[0];
  if (!best) {
    post({ kind: 'error', message: `no backend could train here: ${trials.map((t) => `${t.backend}: ${t.error}`).join('; ')}` });
    return;
  }
  await useBackend(best.backend);
  post({ kind: 'benchmark', result: { backend: best.backend, samplesPerSec: best.samplesPerSec as number, trials, durationMs: performance.now() - started } });
}

/** One attempt at the round on the backend in use; throws if the backend fails (an exception, a non-finite loss or weight). */
async function trainOnce(task: TrainingTask, evaluateLocally: boolean, failure: TestFailure | undefined, started: number): Promise<ClientStepResult> {
  if (!local) throw new Error('no local data yet');
  const backend = tf.getBackend();
  let lastPost = 0;
  let batches = 0;
  // Without a server test set, the received model is scored on held-out rows (the same ones every round) before training.
  const split = evaluateLocally ? localHoldout(local.data, LOCAL_HOLDOUT_FRACTION) : undefined;
  const result = await runClientStep(task, split?.train ?? local.data, local.spec, {
    reads: 'async', dtype: 'float32', evaluateOn: split?.holdout,
    onBatch: (p) => {
      // Thrown here, inside the core's training loop, so that its clean-up (the optimizer's state) runs.
      if (aborted) throw new RoundAborted('the round was stopped: this device cannot take part now');
      batches++;
      if (failure?.backend === backend && batches > failure.afterBatches) throw new Error(`test hook: ${backend} fails after ${failure.afterBatches} batches`);
      if (!Number.isFinite(p.loss)) throw new Error(`non-finite loss at epoch ${p.epoch + 1}, batch ${p.batch + 1}`);
      const now = performance.now();
      if (now - lastPost < 100 && p.batch !== p.batchesPerEpoch - 1) return;
      lastPost = now;
      post({
        kind: 'progress', round: task.round, epoch: p.epoch, epochs: task.epochs, batch: p.batch, batchesPerEpoch: p.batchesPerEpoch,
        loss: p.loss, samplesPerSec: (p.samplesSeen * 1000) / (now - started),
      });
    },
    betweenBatches: async () => {
      // Let 'pause' and 'abort' messages in between batches, and wait while paused.
      await new Promise((r) => setTimeout(r, 0));
      while (paused && !aborted) await new Promise((r) => setTimeout(r, 200));
    },
  });
  if (decodeWeights(result.update.weights).some((v) => !Number.isFinite(v))) throw new Error('non-finite weights after training');
  return result;
}

/**
 * The round on the backend in use; if that backend fails, the round is redone from the task's
 * weights on the next of `fallbacks` that passes the benchmark's check (measured again: its
 * width-1 speed is the device's new capability), and the update says so.
 */
async function train(task: TrainingTask, evaluateLocally: boolean, fallbacks: readonly BackendName[], failure: TestFailure | undefined): Promise<void> {
  if (!local) throw new Error('no local data yet');
  aborted = false;
  const started = performance.now();
  const first = tf.getBackend() as BackendName;
  let outcome: { result: ClientStepResult; backend: BackendName; fallback?: { from: BackendName; reason: string; samplesPerSec: number } } | undefined;
  let reason = '';
  try {
    outcome = { result: await trainOnce(task, evaluateLocally, failure, started), backend: first };
  } catch (err) {
    if (err instanceof RoundAborted) throw err;
    reason = err instanceof Error ? err.message : String(err);
  }
  const tried = [`${first}: ${reason}`];
  for (const next of outcome ? [] : fallbacks.filter((b) => b !== first)) {
    try {
      const samplesPerSec = await measure(next, 1000, local.spec); // switches to it and checks its arithmetic
      const result = await trainOnce(task, evaluateLocally, failure, performance.now());
      outcome = { result, backend: next, fallback: { from: first, reason: reason.slice(0, 300), samplesPerSec } };
      break;
    } catch (err) {
      if (err instanceof RoundAborted) throw err;
      tried.push(`${next}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!outcome) throw new Error(`training failed on every backend (${tried.join('; ')})`);
  const { result, backend, fallback } = outcome;
  const update = { ...result.update, backend, ...(fallback ? { fallback: { from: fallback.from, reason: fallback.reason || 'failed' } } : {}) };
  const bytes = update.weights.data;
  post({
    kind: 'trained', round: task.round, update, loss: result.loss, numTensors: tf.memory().numTensors, elapsedMs: performance.now() - started,
    backend, ...(fallback ? { fallback } : {}),
  }, [bytes instanceof Uint8Array ? bytes.buffer : bytes]);
}

/** Wires the trainer to its page; returns the handler for the page's messages. One trainer per realm. */
export function startTrainer(send: Post): (msg: ToWorker) => Promise<void> {
  post = send;
  return handle;
}

async function handle(msg: ToWorker): Promise<void> {
  try {
    if (msg.kind === 'benchmark') await benchmark(taskSpec(msg.task), msg.forced, msg.budgetMs);
    else if (msg.kind === 'use-backend') {
      await useBackend(msg.backend);
      post({ kind: 'backend-ready', backend: msg.backend });
    } else if (msg.kind === 'data') {
      local = { spec: taskSpec(msg.task), data: taskImages(msg.task, msg.images, msg.labels, msg.count) };
    } else if (msg.kind === 'train') await train(msg.task, msg.evaluateLocally, msg.fallbacks, msg.testFailure);
    else if (msg.kind === 'pause') paused = msg.paused;
    else if (msg.kind === 'abort') aborted = true;
  } catch (err) {
    post({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
