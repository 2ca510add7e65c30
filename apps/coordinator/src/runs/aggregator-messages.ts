import type { ModelSpec } from '@fedtsa/core/architecture';
import type { ReceivedUpdate, RoundOutcome } from '@fedtsa/core/round/close';
import type { RoundPolicy } from '@fedtsa/core/round/policy';
import type { ClusterScore } from '@fedtsa/core/round/score';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import type { RunSettings } from './settings.ts';

/** The tasks (with their generators) arrive as TaskMessages. */
export interface AggregatorInit {
  /** The pool store's root (node-io DiskPoolStore): Stage 2 reads the chunks the generation worker made there. */
  poolDir: string;
}

/** A task the worker scores models of: its spec, and its test set when the server has one. */
export interface TaskMessage {
  kind: 'task';
  name: string;
  spec: ModelSpec;
  test?: { images: SharedArrayBuffer; labels: SharedArrayBuffer; count: number };
  /** The task's generator checkpoint (checked to fit it); without one the task's runs have no Stage 2. */
  generatorDir?: string;
}

/** One round's close (core round/close.ts) and its scores, run in the aggregation worker. */
export interface AggregateRequest {
  runId: string;
  /** The run's task (registered with the worker by a TaskMessage). */
  task: string;
  round: number;
  /** The run's seed (Stage 2 derives its own from it: core stage2Seed). */
  seed: number;
  /** The cluster models the round started from. */
  models: ClusterModel[];
  /** Updates accepted on arrival, in selection order, with their distances from the model sent. */
  updates: ReceivedUpdate[];
  /** Per cluster: the weights its participants were sent. */
  sent: [number, Float32Array][];
  /** Per cluster: its recorded round-to-round changes (core round/memory.ts). */
  history: [number, number[]][];
  policy: RoundPolicy;
  stage2: RunSettings['stage2'];
  /** The run's last round: with stage2.overlap, its mutual learning runs inline (no next round to overlap with). */
  lastRound: boolean;
  evalSamples: number;
}

export type AggregateResult = Omit<RoundOutcome, 'serverStepMs'> & { stage2Ms: number; metrics: ClusterScore[] };

export type AggregatorReply =
  | { id: number; ok: true; result: AggregateResult }
  | { id: number; ok: true; metrics: ClusterScore[] }
  | { id: number; ok: false; error: string };
