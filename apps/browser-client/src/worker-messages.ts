/** Messages between the page and its training worker. */
import type { BackendName } from '@fedtsa/core/backend';
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
  | { kind: 'benchmark'; forced?: BackendName; budgetMs: number }
  | { kind: 'use-backend'; backend: BackendName }
  | { kind: 'data'; images: Uint8Array; labels: Uint8Array; count: number }
  | { kind: 'train'; task: TrainingTask }
  | { kind: 'pause'; paused: boolean };

export type FromWorker =
  | { kind: 'benchmark'; result: BenchmarkResult }
  | { kind: 'backend-ready'; backend: BackendName }
  | { kind: 'progress'; round: number; epoch: number; epochs: number; batch: number; batchesPerEpoch: number; loss: number; samplesPerSec: number }
  /** `update` is ready to send as the 'update' event; its weight bytes are transferred. */
  | { kind: 'trained'; round: number; update: UpdatePayload; loss: number; numTensors: number; elapsedMs: number }
  | { kind: 'error'; message: string };
