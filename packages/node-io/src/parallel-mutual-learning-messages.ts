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

/** Then run every step on this worker's shard of each batch, exchanging gradients through `exchange`. */
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
  /** [steps, batchSize] pool rows: every worker takes rows [floor(s b / K), floor((s + 1) b / K)) of each. */
  rows: Int32Array;
  /** The probe batch for the KL statistics, split the same way. */
  probeRows: Int32Array;
  shard: number;
  shards: number;
  /** Float32 [2 (step parity), shards, gradient floats]; and Int32 control words (CONTROL below). */
  exchange: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Send the learners' new weights back (one worker does). */
  returnWeights: boolean;
  /** For tests only: make this worker fail at this step, by throwing or by exiting the thread. */
  fault?: { step: number; kind: 'throw' | 'exit' };
}

export type Request = ScreenRequest | TrainRequest;

export interface ScreenResult { kind: 'screen'; scores: (PoolScore | null)[] }

export interface TrainResult {
  kind: 'train';
  /** Per model: this shard's KL to the teachers' mean on the probe, times its share of the batch. */
  klBefore: number[];
  klAfter: number[];
  /** Over steps: the mean over learners of this shard's label cross-entropy, times its share of the batch. */
  ceSum: number;
  /** Per model (null for a model that did not learn), when returnWeights. */
  weights: (Float32Array | null)[] | null;
  /** tf.memory().numTensors after the round: constant from round to round. */
  numTensors: number;
  /** Where the steps' time went (ms, summed over steps): this shard's forward + backward, writing and summing gradients, waiting at the barrier, the optimizer. */
  timings: StepTimings;
}

export interface StepTimings { gradientMs: number; exchangeMs: number; waitMs: number; applyMs: number }

export type Reply = { id: number; ok: true; result: ScreenResult | TrainResult } | { id: number; ok: false; error: string; aborted: boolean };

/** Indices into the Int32 control words. */
export const CONTROL = { arrived: 0, generation: 1, abort: 2, words: 4 } as const;

/** Rows [lo, hi) of a batch of `size` that shard `s` of `shards` takes. */
export function shardRange(size: number, s: number, shards: number): [number, number] {
  return [Math.floor((s * size) / shards), Math.floor(((s + 1) * size) / shards)];
}
