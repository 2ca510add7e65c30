import type { PoolProgress } from '@fedtsa/protocol/dashboard';

/** Where the generation worker keeps the chunks it makes (a DiskPoolStore's root). */
export interface GenerationInit {
  poolDir: string;
}

/** A run's pool to make ahead of its rounds: the fill and every refresh up to `rounds` (core stage2/pool-plan.ts). */
export interface PoolJob {
  kind: 'pool';
  runId: string;
  /** The task's generator checkpoint (the catalog checked it fits the task). */
  generatorDir: string;
  sampleSteps: number;
  guidance: number;
  size: number;
  refreshFraction: number;
  /** The pool's seed: what Stage 2 passes to its pool's refresh (core stage2PoolSeed). */
  seed: number;
  /** The run's last round: refreshes beyond it are never drawn. */
  rounds: number;
  /** Rounds up to this one are made ahead now; HorizonRequest moves it on. */
  horizon: number;
}

/** The run has moved on: make its pool up to `round`. */
export interface HorizonRequest {
  kind: 'horizon';
  runId: string;
  round: number;
}

/** Stop making a run's pool (the run is over or gone); what is made stays in the store. */
export interface ForgetJob {
  kind: 'forget';
  runId: string;
}

/** Hold off after the chunk in progress (a close is running and needs the cores), or go on. */
export type PauseRequest = { kind: 'pause' } | { kind: 'resume' };

export type GenerationRequest = PoolJob | ForgetJob | PauseRequest | HorizonRequest;

export type GenerationEvent =
  | { kind: 'ready' }
  | { kind: 'progress'; runId: string; progress: PoolProgress };
