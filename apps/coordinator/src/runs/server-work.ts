/**
 * The server's heavy steps behind one interface: close a round (core round/close.ts and the
 * scores), evaluate models, and make runs' synthetic pools ahead of their rounds with progress.
 * Today two worker threads do the work (WorkerServerWork: the aggregation worker closes and
 * scores, the generation worker makes pools while no close runs, so it takes the cores the
 * round leaves idle while clients train); a job queue (BullMQ and
 * workers on other machines, sharing the pool store) can implement the same interface later.
 */
import { join } from 'node:path';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import type { ClusterScore } from '@fedtsa/core/round/score';
import { refreshCountOf, stage2PoolSeed } from '@fedtsa/core/stage2/pool-plan';
import { stage2Seed } from '@fedtsa/core/stage2/stage2';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import { Aggregator } from './aggregator.ts';
import type { AggregateRequest, AggregateResult } from './aggregator-messages.ts';
import { PoolGeneration } from './pool-generation.ts';
import type { RunSettings } from './settings.ts';

/** A run's pool, as ServerWork.ensurePool takes it. */
export interface PoolRequest {
  runId: string;
  /** The run's task's generator checkpoint. */
  generatorDir: string;
  stage2: RunSettings['stage2'];
  /** The run's seed (Stage 2 derives its own from it). */
  seed: number;
  /** The run's last round. */
  rounds: number;
  /** The round the run closes next (after a restart, the one after its last completed). */
  nextRound: number;
}

export interface ServerWork {
  /** Makes a task known: its spec, its test set when the server has one, and its generator. */
  addTask(name: string, spec: ModelSpec, test: LabelledImages | undefined, generatorDir: string | undefined): Promise<void>;
  /** Closes a round: screen, Stage 1, invariants, Stage 2 on the pool made so far, and the scores. */
  aggregate(request: AggregateRequest): Promise<AggregateResult>;
  /** Scores of models as they stand (round 1's starting models). */
  evaluate(task: string, models: ClusterModel[], evalSamples: number): Promise<ClusterScore[]>;
  /** Starts making the run's pool in the background (idempotent). */
  ensurePool(request: PoolRequest): void;
  /** Stops making the run's pool; what is made stays in the store. */
  forgetPool(runId: string): void;
  /** The run's pool as made so far; null for a run whose pool is not being made. */
  poolProgress(runId: string): PoolProgress | null;
  /** Calls `listener` with a run's id when its pool progress changes. */
  onPoolProgress(listener: (runId: string) => void): void;
  close(): Promise<void>;
}

export interface WorkerServerWorkOptions {
  /** The coordinator's data folder: pools go to <dataDir>/pools (node-io DiskPoolStore). */
  dataDir: string;
  /**
   * How long a close may wait for the round's pool to be made before it goes on with what is
   * there (10 s by default: enough for a small or nearly done pool, never the minutes a full one
   * takes; round 1 of a default run closes with part of its fill or without Stage 2). A close
   * does not wait at all when the measured speed says the rest would not come in time.
   */
  poolWaitMs?: number;
}

export const DEFAULT_POOL_WAIT_MS = 10_000;

/**
 * Rounds beyond the next one whose pool refresh is made ahead: enough that a round's refresh is
 * made long before it closes, few enough that a run of thousands of rounds does not draw them
 * all at its start.
 */
export const POOL_ROUNDS_AHEAD = 4;

export class WorkerServerWork implements ServerWork {
  private constructor(private readonly aggregator: Aggregator, private readonly pools: PoolGeneration, private readonly poolWaitMs: number) {}

  static async start(options: WorkerServerWorkOptions): Promise<WorkerServerWork> {
    const poolDir = join(options.dataDir, 'pools');
    const [aggregator, pools] = await Promise.all([Aggregator.start({ poolDir }), PoolGeneration.start({ poolDir })]);
    const wait = options.poolWaitMs ?? DEFAULT_POOL_WAIT_MS;
    if (!(Number.isFinite(wait) && wait >= 0)) throw new Error(`WorkerServerWork: poolWaitMs must be a finite number >= 0, got ${wait}`);
    return new WorkerServerWork(aggregator, pools, wait);
  }

  addTask(name: string, spec: ModelSpec, test: LabelledImages | undefined, generatorDir: string | undefined): Promise<void> {
    return this.aggregator.addTask(name, spec, test, generatorDir);
  }

  async aggregate(request: AggregateRequest): Promise<AggregateResult> {
    const s = request.stage2;
    let waitedMs = 0;
    if (s.enabled) {
      // The fill, then one refresh per round after the first (core stage2/pool-plan.ts).
      const needed = s.poolSize + (request.round - 1) * refreshCountOf(s.poolSize, s.refreshFraction);
      const t0 = performance.now();
      await this.pools.whenReady(request.runId, request.round, this.poolWaitMs, needed);
      waitedMs = Math.round(performance.now() - t0);
    }
    const result = await this.pools.holdingOff(() => this.aggregator.aggregate(request));
    this.pools.advance(request.runId, request.round + 1 + POOL_ROUNDS_AHEAD);
    // The close's wait for the pool is on the round's critical path: recorded when there was one.
    return waitedMs > 0 ? { ...result, serverStepStats: { ...result.serverStepStats, poolWaitMs: waitedMs } } : result;
  }

  evaluate(task: string, models: ClusterModel[], evalSamples: number): Promise<ClusterScore[]> {
    return this.aggregator.evaluate(task, models, evalSamples);
  }

  ensurePool(request: PoolRequest): void {
    const s = request.stage2;
    this.pools.ensure({
      runId: request.runId, generatorDir: request.generatorDir, sampleSteps: s.sampleSteps, guidance: s.guidance,
      size: s.poolSize, refreshFraction: s.refreshFraction, seed: stage2PoolSeed(stage2Seed(request.seed)), rounds: request.rounds,
      horizon: request.nextRound + POOL_ROUNDS_AHEAD,
    });
  }

  forgetPool(runId: string): void {
    this.pools.forget(runId);
  }

  poolProgress(runId: string): PoolProgress | null {
    return this.pools.progressOf(runId);
  }

  onPoolProgress(listener: (runId: string) => void): void {
    this.pools.onProgress(listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.aggregator.close(), this.pools.close()]);
  }
}
