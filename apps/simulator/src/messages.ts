/** Messages between the simulation's main thread and its training workers. */
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { TrainingChanges } from '@fedtsa/core/strategy/types';

export interface SharedSplit {
  images: SharedArrayBuffer; // Float32 [n, h, w, c]
  labels: SharedArrayBuffer; // Uint8 [n]
  count: number;
}

export interface WorkerInit {
  spec: ModelSpec;
  train: SharedSplit;
  test: SharedSplit;
}

export interface TrainJob {
  kind: 'train';
  /** Rows of the shared train split that this client holds. */
  indices: Int32Array;
  widthRatio: number;
  weights: Float32Array;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  seed: number;
  /** The strategy's changes to local training (HeteroFL's scaler and masked loss). */
  training?: TrainingChanges;
}

export interface EvaluateJob {
  kind: 'evaluate';
  split: 'train' | 'test';
  /** Rows of the split to evaluate on. */
  indices: Int32Array;
  widthRatio: number;
  weights: Float32Array;
}

/** Stage 2 generation on an otherwise idle worker: DDIM samples from a generator checkpoint. */
export interface SampleJob {
  kind: 'sample';
  generatorDir: string;
  steps: number;
  guidance: number;
  labels: Uint8Array;
  seed: number;
}

export type Job = TrainJob | EvaluateJob | SampleJob;

export interface TrainOutcome { kind: 'train'; weights: Float32Array; numSamples: number; loss: number; elapsedMs: number }
export interface EvaluateOutcome { kind: 'evaluate'; accuracy: number; loss: number; count: number; elapsedMs: number }
export interface SampleOutcome { kind: 'sample'; images: Float32Array; elapsedMs: number }
export type Outcome = TrainOutcome | EvaluateOutcome | SampleOutcome;

export type WorkerReply = { id: number; ok: true; outcome: Outcome } | { id: number; ok: false; error: string };
