/**
 * Stage 2's mutual learning on worker threads, data parallel and exact: a sample's target (the
 * mean of the teachers' logits) depends on that sample only, so each batch is cut into fixed
 * shards, each shard's gradient of every learner is computed by one worker (core
 * mutual-learning-gradients.ts), and every worker applies the same sum of the shards' gradients
 * (weighted by shard size, summed in shard order) to its identical replica: runMutualLearning's
 * computation up to float summation order, with the same batches (the same rng draws), teacher
 * screen and statistics.
 *
 * Workers claim shards as they come, through Atomics on shared control words, so a worker that
 * the OS deschedules does not hold the others up: they take its shards and it catches up by
 * applying the summed gradients it missed, up to RING steps behind. Which worker computed a shard
 * never changes a bit of the result (the test checks one worker, two, and two with one stalled).
 * This thread only starts a round (pool, weights, the batches' rows) and collects the result, so
 * it stays free for sockets. Workers start once and serve every round; runs queue.
 * Measured for 2 threads and 259k gradient floats (widths 1 and 1/2), write + wait + sum per step:
 * 0.70-0.95 ms through a SharedArrayBuffer with Atomics, 0.90-1.96 ms with postMessage (a copy,
 * received synchronously with receiveMessageOnPort), against ~30 ms of gradient work per shard.
 */
import { Worker } from 'node:worker_threads';
import { createRng } from '@fedtsa/core/rng';
import { assignRoles, checkMutualLearningInputs, mean, sampleRows, type ClusterModelWeights, type MutualLearningOptions, type MutualLearningResult, type MutualLearningRunner } from '@fedtsa/core/stage2/mutual-learning';
import { allFinite, mergePoolScores, screensFromScores } from '@fedtsa/core/stage2/teachers';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { controlLayout, shardRange, type Reply, type Request, type ScreenResult, type SharedPool, type StepTimings, type TrainRequest, type TrainResult } from './parallel-mutual-learning-messages.ts';

export interface ParallelMutualLearningOptions {
  /** Worker threads (default 2). The result does not depend on it, only on `shards`. */
  workers?: number;
  /**
   * Shards per batch (default 2), claimed by whichever worker is free. The result depends on them
   * in its last float bits, so the default is fixed rather than the core count (runs reproduce from
   * machine to machine); a 64-sample batch cut further costs more work per sample (BENCHMARKS.md).
   */
  shards?: number;
  /** For tests only: worker `worker` fails at step `step` (throws, or exits its thread), or stalls there for `ms`. */
  faultForTests?: { worker: number; step: number; kind: 'throw' | 'exit' | 'stall'; ms?: number };
}

/** Steps of gradients the exchange holds: how far a worker may run ahead of a descheduled one. */
const RING = 8;

export interface ParallelMutualLearning {
  /** Same contract as core runMutualLearning (pass it to createStage2Step as runMutualLearning). */
  run: MutualLearningRunner;
  /** tf.memory().numTensors in each worker after the last round (constant from round to round). */
  readonly workerTensors: readonly number[];
  /** Per worker, where the last round's steps spent their time (for benchmarks). */
  readonly workerTimings: readonly StepTimings[];
  /** Stops the workers; later runs reject. */
  close(): Promise<void>;
}

const FN = 'parallelMutualLearning';

interface Pending { replies: (Reply | undefined)[]; left: number; resolve: (r: (ScreenResult | TrainResult)[]) => void; reject: (e: Error) => void }

/** K started workers; broken (and replaced by the next run) when one of them dies. */
class WorkerGroup {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** The running round's control words, so a dying worker can stop the others. */
  control: { words: Int32Array; abort: number } | null = null;
  broken: Error | null = null;

  private constructor(readonly workers: Worker[]) {}

  static async start(size: number): Promise<WorkerGroup> {
    const workers = Array.from({ length: size }, () => new Worker(new URL('./parallel-mutual-learning-entry.mjs', import.meta.url)));
    const group = new WorkerGroup(workers);
    try {
      await Promise.all(workers.map((w, s) => new Promise<void>((resolve, reject) => {
        const early = (err: Error | number) => reject(new Error(`${FN}: worker ${s} did not start: ${typeof err === 'number' ? `exit code ${err}` : err.message}`));
        w.once('error', early);
        w.once('exit', early);
        w.once('message', () => {
          w.off('error', early);
          w.off('exit', early);
          w.on('message', (reply: Reply) => group.onReply(s, reply));
          w.on('error', (err) => group.fail(new Error(`${FN}: worker ${s} crashed: ${err.message}`)));
          w.on('exit', (code) => group.fail(new Error(`${FN}: worker ${s} exited (code ${code})`)));
          w.unref();
          resolve();
        });
      })));
    } catch (err) {
      await group.terminate();
      throw err;
    }
    return group;
  }

  /** Sends request(s) to worker s for every s; resolves with every result, or rejects with the first real failure. */
  ask(request: (shard: number) => Request): Promise<(ScreenResult | TrainResult)[]> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { replies: this.workers.map(() => undefined), left: this.workers.length, resolve, reject });
      // Referenced while a request is out, so a process waiting only on this answer does not exit.
      for (const [s, w] of this.workers.entries()) {
        w.ref();
        w.postMessage({ id, request: request(s) });
      }
    });
  }

  private onReply(shard: number, reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    p.replies[shard] = reply;
    if (--p.left > 0) return;
    this.pending.delete(reply.id);
    for (const w of this.workers) w.unref();
    const replies = p.replies as Reply[];
    // A worker that stopped because another failed is not the news: the one that failed is.
    const failed = replies.findIndex((r) => !r.ok && !r.aborted);
    const first = failed >= 0 ? failed : replies.findIndex((r) => !r.ok);
    if (first >= 0) {
      const r = replies[first] as Reply & { ok: false };
      p.reject(new Error(`${FN}: worker ${first} failed: ${r.error}`));
      return;
    }
    p.resolve(replies.map((r) => (r as Reply & { ok: true }).result));
  }

  fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    if (this.control) Atomics.store(this.control.words, this.control.abort, 1);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    void this.terminate();
  }

  async terminate(): Promise<void> {
    this.broken ??= new Error(`${FN}: closed`);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The pool in shared memory: one copy per round, read by every worker. */
function sharePool(pool: { images: Float32Array; labels: Uint8Array; count: number; numClasses: number }): SharedPool {
  const images = new SharedArrayBuffer(pool.images.byteLength);
  new Float32Array(images).set(pool.images);
  const labels = new SharedArrayBuffer(pool.labels.byteLength);
  new Uint8Array(labels).set(pool.labels);
  return { images, labels, count: pool.count, numClasses: pool.numClasses };
}

export function createParallelMutualLearning(options: ParallelMutualLearningOptions = {}): ParallelMutualLearning {
  const size = options.workers ?? 2;
  const shards = options.shards ?? 2;
  if (!(Number.isInteger(size) && size >= 1)) throw new Error(`${FN}: workers must be a positive integer, got ${size}`);
  if (!(Number.isInteger(shards) && shards >= 1)) throw new Error(`${FN}: shards must be a positive integer, got ${shards}`);
  let group: Promise<WorkerGroup> | null = null;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const workerTensors: number[] = [];
  const workerTimings: StepTimings[] = [];

  const ready = async (): Promise<WorkerGroup> => {
    if (group) {
      const g = await group.catch(() => null);
      if (g && !g.broken) return g;
    }
    group = WorkerGroup.start(size);
    return group;
  };
  // Started now rather than at the first run: a worker's wasm start (about 2.5 s measured on a busy
  // machine) would otherwise fall on the first round. A failure here is reported by that run.
  void ready().catch(() => undefined);

  const runOnce = async (
    models: readonly ClusterModelWeights[], spec: Parameters<MutualLearningRunner>[1], o: MutualLearningOptions, shared: SharedPool,
    seed: number, now: () => number, t0: number,
  ): Promise<MutualLearningResult> => {
    const g = await ready();
    const data = shared;
    const rng = createRng(seed);
    const batchSize = Math.min(o.batchSize, data.count);
    // The same draws as runMutualLearning: the probe, then one batch per step.
    const probeRows = Int32Array.from(sampleRows(rng, data.count, batchSize));
    const finite = models.map((m) => allFinite(m.weights));
    const screened = await g.ask((s) => {
      const [rowStart, rowEnd] = shardRange(data.count, s, size);
      return { kind: 'screen', spec, pool: shared, rowStart, rowEnd, models: models.map((m, k) => ({ widthRatio: m.widthRatio, weights: m.weights, finite: finite[k] as boolean })) };
    }) as ScreenResult[];
    const scores = models.map((_, k) => (finite[k] ? mergePoolScores(screened.map((r) => r.scores[k]!)) : null));
    const { screens, teaches, learns, roles, active } = assignRoles(screensFromScores(scores, data.numClasses, o.teacherRule), models, o.teacherRule, o.widestLearns);
    if (!learns.some(Boolean)) {
      return { weights: models.map((m) => m.weights.slice()), screens, learned: learns, stats: { steps: 0, meanKlBefore: NaN, meanKlAfter: NaN, meanCe: NaN, ms: now() - t0 } };
    }
    const rows = new Int32Array(o.steps * batchSize);
    for (let step = 0; step < o.steps; step++) rows.set(sampleRows(rng, data.count, batchSize), step * batchSize);
    const floats = models.reduce((n, m, k) => n + (learns[k] ? parameterCount(modelManifest(spec, m.widthRatio)) : 0), 0);
    const ring = Math.max(1, Math.min(RING, o.steps));
    const exchange = new SharedArrayBuffer(ring * shards * floats * 4);
    const layout = controlLayout(ring, size);
    const control = new SharedArrayBuffer(layout.words * 4);
    const ce = new SharedArrayBuffer(Math.max(1, o.steps * shards) * 8);
    g.control = { words: new Int32Array(control), abort: layout.abort };
    const base: Omit<TrainRequest, 'worker' | 'returnWeights' | 'fault'> = {
      kind: 'train', temperature: o.temperature, lambda: o.lambda, optimizer: o.optimizer, learningRate: o.learningRate,
      roles: roles ? { teaches: [...roles.teaches], learns: [...roles.learns] } : null, klTeaches: teaches,
      batchSize, steps: o.steps, rows, probeRows, workers: size, shards, ring, exchange, control, ce,
    };
    const fault = options.faultForTests;
    const trained = await g.ask((w) => ({ ...base, worker: w, returnWeights: w === 0, ...(fault?.worker === w ? { fault: { step: fault.step, kind: fault.kind, ms: fault.ms } } : {}) })) as TrainResult[];
    g.control = null;
    trained.forEach((r, w) => {
      workerTensors[w] = r.numTensors;
      workerTimings[w] = r.timings;
    });
    const klOf = (key: 'klBefore' | 'klAfter') => mean(models.map((_, k) => trained.reduce((a, r) => a + (r[key][k] as number), 0)).filter((_, k) => active[k]));
    const learned = (trained[0] as TrainResult).weights as (Float32Array | null)[];
    // Summed in step and shard order, whoever computed which shard.
    const ceSum = new Float64Array(ce).reduce((a, v) => a + v, 0);
    return {
      weights: models.map((m, k) => learned[k] ?? m.weights.slice()),
      screens, learned: learns,
      stats: {
        steps: o.steps, meanKlBefore: klOf('klBefore'), meanKlAfter: klOf('klAfter'),
        meanCe: o.steps > 0 ? ceSum / o.steps : NaN, ms: now() - t0,
      },
    };
  };

  return {
    workerTensors,
    workerTimings,
    run: (models, spec, pool, partial, seed, now = () => Date.now()) => {
      if (closed) return Promise.reject(new Error(`${FN}: closed`));
      let o: MutualLearningOptions;
      try {
        o = checkMutualLearningInputs(models, spec, pool, partial, FN);
      } catch (err) {
        return Promise.reject(err);
      }
      const t0 = now();
      // The pool as it is now: a refresh while this run waits its turn does not reach it.
      const shared = sharePool(pool.data);
      // One round at a time: the workers hold one round's state.
      const result = queue.then(() => runOnce(models, spec, o, shared, seed, now, t0));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      closed = true;
      await queue;
      const g = group && (await group.catch(() => null));
      await g?.terminate();
    },
  };
}

let shared: ParallelMutualLearning | null = null;

/** One instance per process (thread), started at first use: its idle workers never keep the process alive. */
export function sharedParallelMutualLearning(): ParallelMutualLearning {
  shared ??= createParallelMutualLearning();
  return shared;
}
