import type { ModelSpec } from '@fedtsa/core/architecture';
import type { ClientUpdate, ClusterModel } from '@fedtsa/core/strategy/types';
import type { RunSettings } from './settings.ts';

export interface AggregatorInit {
  spec: ModelSpec;
  testImages: SharedArrayBuffer;
  testLabels: SharedArrayBuffer;
  testCount: number;
  /** Generator checkpoint folder for Stage 2; without one Stage 2 is skipped. */
  generatorDir?: string;
}

export interface AggregateRequest {
  runId: string;
  round: number;
  seed: number;
  models: ClusterModel[];
  updates: ClientUpdate[];
  stage2: RunSettings['stage2'];
  evalSamples: number;
}

export interface AggregateResult {
  models: ClusterModel[];
  stage1Ms: number;
  stage2Ms: number;
  stage2Stats: Record<string, number>;
  metrics: { clusterIndex: number; accuracy: number; loss: number; count: number }[];
}

export type AggregatorReply = { id: number; ok: true; result: AggregateResult } | { id: number; ok: false; error: string };
