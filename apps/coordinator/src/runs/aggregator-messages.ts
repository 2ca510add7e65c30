import type { ModelSpec } from '@fedtsa/core/architecture';
import type { ChangeLimit } from '@fedtsa/core/screening/invariants';
import type { ClientUpdate, ClusterModel, ServerStepReport } from '@fedtsa/core/strategy/types';
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
  /** Per cluster: how far its model may move from the round's start (screening/invariants.ts). */
  limits: ({ clusterIndex: number } & ChangeLimit)[];
}

/** A step whose result broke a round invariant and was undone. */
export interface Rollback {
  clusterIndex: number;
  step: 'stage1' | 'stage2';
  reason: string;
  change: number;
  maxChange: number;
}

export interface AggregateResult {
  models: ClusterModel[];
  stage1Ms: number;
  stage2Ms: number;
  stage2Stats: Record<string, number>;
  metrics: { clusterIndex: number; accuracy: number; loss: number; count: number }[];
  rollbacks: Rollback[];
  teachers: NonNullable<ServerStepReport['teachers']>;
  /** Per cluster: distance of the final model from the round's start. */
  changes: { clusterIndex: number; change: number }[];
}

export type AggregatorReply = { id: number; ok: true; result: AggregateResult } | { id: number; ok: false; error: string };
