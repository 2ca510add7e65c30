/** Messages between the page and its training worker. */
import type { BackendName } from '@fedtsa/core/backend';
import type { TaskDefinition } from '@fedtsa/core/task';
import type { TrainingTask } from '@fedtsa/protocol/events';
import type { UpdatePayload } from '@fedtsa/protocol/messages';

export interface BackendTrial {
  backend: BackendName;
  samplesPerSec?: number;
  error?: string;
}

export interface BenchmarkResult {
  backend: BackendName;
  samplesPerSec: number;
  trials: BackendTrial[];
  durationMs: number;
}

export type ToWorker =
  /** Measures the width-1 model of `task` (the run's), the model a round trains. */
  | { kind: 'benchmark'; task: TaskDefinition; forced?: BackendName; budgetMs: number }
  | { kind: 'use-backend'; backend: BackendName }
  /** Pixel bytes [count, h, w, c] in `task`'s shape, labels indexing its classes. */
  | { kind: 'data'; task: TaskDefinition; images: Uint8Array; labels: Uint8Array; count: number }
  /**
   * `evaluateLocally` (Welcome.serverEvaluates false): score the received model on held-out local data first.
   * `fallbacks`: where to redo the round, in order, if the backend in use fails (backend-fallback.ts).
   * `testFailure`: tests only (test-hooks.ts): `backend` throws after `afterBatches` batches of every round it trains.
   */
  | { kind: 'train'; task: TrainingTask; evaluateLocally: boolean; fallbacks: BackendName[]; testFailure?: TestFailure }
  | { kind: 'pause'; paused: boolean }
  /** Stop the round in progress (the participation policy is no longer met): 'train' ends with an error. */
  | { kind: 'abort' };

export interface TestFailure {
  backend: BackendName;
  afterBatches: number;
}

export type FromWorker =
  | { kind: 'benchmark'; result: BenchmarkResult }
  | { kind: 'backend-ready'; backend: BackendName }
  | { kind: 'progress'; round: number; epoch: number; epochs: number; batch: number; batchesPerEpoch: number; loss: number; samplesPerSec: number }
  /**
   * `update` is ready to send as the 'update' event; its weight bytes are transferred. `backend`
   * computed it; `fallback`: the backend the round started on failed, and the width-1 speed
   * measured on `backend` before the round was redone there (the new capability).
   */
  | { kind: 'trained'; round: number; update: UpdatePayload; loss: number; numTensors: number; elapsedMs: number; backend: BackendName;
    fallback?: { from: BackendName; reason: string; samplesPerSec: number } }
  | { kind: 'error'; message: string };
