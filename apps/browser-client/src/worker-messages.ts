/** Messages between the page and its training worker. */
import type { BackendName } from '@fedtsa/core/backend';
import type { TrainingTask } from '@fedtsa/protocol/events';

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
  | { kind: 'trained'; round: number; weights: Float32Array; numSamples: number; loss: number; numTensors: number; elapsedMs: number }
  | { kind: 'error'; message: string };
