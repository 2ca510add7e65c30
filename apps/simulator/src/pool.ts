/** A fixed pool of training workers with a FIFO job queue. */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { EvaluateJob, EvaluateOutcome, Job, Outcome, SampleJob, SampleOutcome, SharedSplit, TrainJob, TrainOutcome, WorkerInit, WorkerReply } from './messages.ts';

export function shareSplit(data: LabelledImages): SharedSplit {
  const images = new SharedArrayBuffer(data.images.byteLength);
  new Float32Array(images).set(data.images);
  const labels = new SharedArrayBuffer(data.labels.byteLength);
  new Uint8Array(labels).set(data.labels);
  return { images, labels, count: data.count };
}

interface Pending { job: Job; resolve: (o: Outcome) => void; reject: (e: Error) => void }

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;

  private constructor() {}

  static async create(spec: ModelSpec, train: LabelledImages, test: LabelledImages, size = availableParallelism()): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const workerData: WorkerInit = { spec, train: shareSplit(train), test: shareSplit(test) };
    await Promise.all(Array.from({ length: Math.max(1, size) }, () => pool.spawn(workerData)));
    return pool;
  }

  get size(): number {
    return this.all.length;
  }

  private spawn(workerData: WorkerInit): Promise<void> {
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData });
    this.all.push(worker);
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg: WorkerReply | { ready: true }) => {
        if ('ready' in msg) {
          worker.off('error', reject);
          worker.on('error', (err) => this.failWorker(worker, err));
          this.idle.push(worker);
          resolve();
          this.pump();
          return;
        }
        const pending = this.inFlight.get(msg.id);
        this.inFlight.delete(msg.id);
        this.busy.delete(worker);
        this.idle.push(worker);
        if (pending) {
          if (msg.ok) pending.resolve(msg.outcome);
          else pending.reject(new Error(`worker job failed: ${msg.error}`));
        }
        this.pump();
      });
    });
  }

  private failWorker(worker: Worker, err: Error): void {
    const id = this.busy.get(worker);
    if (id === undefined) return;
    this.inFlight.get(id)?.reject(err);
    this.inFlight.delete(id);
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.shift() as Worker;
      const pending = this.queue.shift() as Pending;
      const id = this.nextId++;
      this.inFlight.set(id, pending);
      this.busy.set(worker, id);
      worker.postMessage({ id, job: pending.job });
    }
  }

  private submit(job: Job): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  train(job: Omit<TrainJob, 'kind'>): Promise<TrainOutcome> {
    return this.submit({ kind: 'train', ...job }) as Promise<TrainOutcome>;
  }

  evaluate(job: Omit<EvaluateJob, 'kind'>): Promise<EvaluateOutcome> {
    return this.submit({ kind: 'evaluate', ...job }) as Promise<EvaluateOutcome>;
  }

  sample(job: Omit<SampleJob, 'kind'>): Promise<SampleOutcome> {
    return this.submit({ kind: 'sample', ...job }) as Promise<SampleOutcome>;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
