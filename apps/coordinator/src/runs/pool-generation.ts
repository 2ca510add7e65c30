/** Main-thread handle of the generation worker (generation-worker.ts): hands it runs' pools and keeps their progress. */
import { Worker } from 'node:worker_threads';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import type { GenerationEvent, GenerationInit, GenerationRequest, PoolJob } from './generation-messages.ts';

export class PoolGeneration {
  private readonly progress = new Map<string, PoolProgress>();
  private readonly listeners = new Set<(runId: string) => void>();
  /** Closes waiting in whenReady: called with true to stop waiting whatever the progress. */
  private readonly waiters = new Set<(stop?: boolean) => void>();
  private failure: Error | undefined;
  /** Closes in progress: generation holds off while there is one. */
  private closing = 0;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (event: GenerationEvent) => {
      // A run forgotten while its chunk was being made reports once more: it stays forgotten.
      if (event.kind !== 'progress' || !this.progress.has(event.runId)) return;
      this.progress.set(event.runId, event.progress);
      for (const wake of [...this.waiters]) wake();
      for (const listener of this.listeners) listener(event.runId);
    });
    worker.on('error', (err) => {
      // Runs go on without background generation: their rounds use what is made, or Stage 1 only.
      this.failure = err;
      for (const [runId, p] of this.progress) {
        if (p.state !== 'ready') this.progress.set(runId, { ...p, state: 'failed', error: `generation worker: ${err.message}` });
      }
      for (const wake of [...this.waiters]) wake();
      for (const runId of this.progress.keys()) for (const listener of this.listeners) listener(runId);
    });
  }

  static async start(init: GenerationInit): Promise<PoolGeneration> {
    const worker = new Worker(new URL('./generation-entry.mjs', import.meta.url), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new PoolGeneration(worker);
  }

  /** Starts making a run's pool (once per run; a second call is ignored). */
  ensure(job: Omit<PoolJob, 'kind'>): void {
    if (this.progress.has(job.runId)) return;
    const waiting: PoolProgress = {
      state: this.failure ? 'failed' : 'waiting', fillReady: 0, fillTarget: job.size, imagesReady: 0, imagesTarget: 0, readyThroughRound: 0,
      imagesGenerated: 0, imagesReused: 0, imagesPerSec: null, ...(this.failure ? { error: `generation worker: ${this.failure.message}` } : {}),
    };
    this.progress.set(job.runId, waiting);
    if (!this.failure) this.send({ kind: 'pool', ...job });
  }

  /** The run has moved on: make its pool up to `round`. */
  advance(runId: string, round: number): void {
    if (this.progress.has(runId) && !this.failure) this.send({ kind: 'horizon', runId, round });
  }

  forget(runId: string): void {
    if (!this.progress.delete(runId)) return;
    if (!this.failure) this.send({ kind: 'forget', runId });
  }

  progressOf(runId: string): PoolProgress | null {
    return this.progress.get(runId) ?? null;
  }

  /** Calls `listener` with the run's id whenever its progress changes. */
  onProgress(listener: (runId: string) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Resolves once the run's pool is made through `round` (or will never be: failed, unknown), or
   * after `timeoutMs`, whichever is first; never rejects. A close waits here at most that long,
   * and not at all when, at the speed measured so far, the `neededImages` of the pool through
   * that round would not be made in time (a close mid-fill goes on at once with what is there).
   */
  async whenReady(runId: string, round: number, timeoutMs: number, neededImages: number): Promise<void> {
    const settled = () => {
      const p = this.progress.get(runId);
      return !p || p.state === 'failed' || p.state === 'ready' || p.readyThroughRound >= round;
    };
    const p = this.progress.get(runId);
    const hopeless = p?.imagesPerSec != null && ((neededImages - p.imagesReady) / p.imagesPerSec) * 1000 > timeoutMs;
    if (settled() || timeoutMs <= 0 || hopeless) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (stop?: boolean) => {
        if (stop || settled()) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Runs `close` with generation held off (after the chunk in progress), so the close has the cores. */
  async holdingOff<T>(close: () => Promise<T>): Promise<T> {
    if (this.closing++ === 0 && !this.failure) this.send({ kind: 'pause' });
    try {
      return await close();
    } finally {
      if (--this.closing === 0 && !this.failure) this.send({ kind: 'resume' });
    }
  }

  private send(request: GenerationRequest): void {
    this.worker.postMessage(request);
  }

  async close(): Promise<void> {
    for (const wake of [...this.waiters]) wake(true);
    await this.worker.terminate();
  }
}
