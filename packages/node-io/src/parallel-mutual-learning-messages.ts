/** Messages between parallel-mutual-learning.ts and its worker threads (parallel-mutual-learning-worker.ts). */
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { PoolScore } from '@fedtsa/core/stage2/teachers';

/** The pool as shared memory: written once per round by the main thread, read by every worker. */
export interface SharedPool {
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  count: number;
  numClasses: number;
}

/** Round start: load the models and score rows [rowStart, rowEnd) of the pool for the teacher screen. */
export interface ScreenRequest {
  kind: 'screen';
  spec: ModelSpec;
  models: { widthRatio: number; weights: Float32Array; finite: boolean }[];
  pool: SharedPool;
  rowStart: number;
  rowEnd: number;
}

/**
 * Then run every step. Each batch is cut into `shards` fixed shards (rows [floor(s b / S),
 * floor((s + 1) b / S))); workers claim shards as they come (a descheduled worker's shard is taken
 * by another) and every worker sums the shards' gradients in shard order: the result depends on
 * the shards, never on which worker computed what, nor on the number of workers.
 */
export interface TrainRequest {
  kind: 'train';
  temperature: number;
  lambda: number;
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  /** null: everyone teaches and learns (the rule off). */
  roles: { teaches: boolean[]; learns: boolean[] } | null;
  /** Whose logits enter the KL statistics' target (the screen's verdicts, also with the rule off). */
  klTeaches: boolean[];
  batchSize: number;
  steps: number;
  /** [steps, batchSize] pool rows. */
  rows: Int32Array;
  /** The probe batch for the KL statistics, split by worker. */
  probeRows: Int32Array;
  worker: number;
  workers: number;
  shards: number;
  /** Steps whose gradients the exchange holds at once: no worker runs more than this ahead of the slowest. */
  ring: number;
  /** Float32 [ring, shards, gradient floats]; Int32 control words (controlLayout); Float64 [steps, shards] cross-entropies. */
  exchange: SharedArrayBuffer;
  control: SharedArrayBuffer;
  ce: SharedArrayBuffer;
  /** Send the learners' new weights back (one worker does). */
  returnWeights: boolean;
  /** For tests only: make this worker fail at this step (throw, or exit its thread), or stall there for `ms`. */
  fault?: { step: number; kind: 'throw' | 'exit' | 'stall'; ms?: number };
}

export type Request = ScreenRequest | TrainRequest;

export interface ScreenResult { kind: 'screen'; scores: (PoolScore | null)[] }

export interface TrainResult {
  kind: 'train';
  /** Per model: this worker's part of the probe's KL to the teachers' mean, times its share of the probe. */
  klBefore: number[];
  klAfter: number[];
  /** Per model (null for a model that did not learn), when returnWeights. */
  weights: (Float32Array | null)[] | null;
  /** tf.memory().numTensors after the round: constant from round to round. */
  numTensors: number;
  /** Where the steps' time went (ms, summed over steps) and how many shards this worker computed. */
  timings: StepTimings;
}

/** Forward + backward of the shards it took, writing and summing gradients, waiting for other workers, the optimizer. */
export interface StepTimings { gradientMs: number; exchangeMs: number; waitMs: number; applyMs: number; shards: number }

export type Reply = { id: number; ok: true; result: ScreenResult | TrainResult } | { id: number; ok: false; error: string; aborted: boolean };

/**
 * The Int32 control words: an abort flag; per ring slot the shards claimed and done so far (they
 * only grow: step t's shards are the counts from floor(t / ring) * shards on); per worker the steps
 * it has applied.
 */
export function controlLayout(ring: number, workers: number): { abort: number; claimed: number; done: number; applied: number; words: number } {
  return { abort: 0, claimed: 1, done: 1 + ring, applied: 1 + 2 * ring, words: 1 + 2 * ring + workers };
}

/** Rows [lo, hi) of a batch of `size` that shard `s` of `shards` takes. */
export function shardRange(size: number, s: number, shards: number): [number, number] {
  return [Math.floor((s * size) / shards), Math.floor(((s + 1) * size) / shards)];
}
