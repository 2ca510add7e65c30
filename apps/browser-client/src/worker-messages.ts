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
  /** `evaluateLocally` (Welcome.serverEvaluates false): score the received model on held-out local data first. */
  | { kind: 'train'; task: TrainingTask; evaluateLocally: boolean }
  | { kind: 'pause'; paused: boolean };

export type FromWorker =
  | { kind: 'benchmark'; result: BenchmarkResult }
  | { kind: 'backend-ready'; backend: BackendName }
  | { kind: 'progress'; round: number; epoch: number; epochs: number; batch: number; batchesPerEpoch: number; loss: number; samplesPerSec: number }
  /** `update` is ready to send as the 'update' event; its weight bytes are transferred. */
  | { kind: 'trained'; round: number; update: UpdatePayload; loss: number; numTensors: number; elapsedMs: number }
  | { kind: 'error'; message: string };
