/** Main-thread handle of the aggregation worker. */
import { Worker } from 'node:worker_threads';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import type { ClusterScore } from '@fedtsa/core/round/score';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import type { AggregateRequest, AggregateResult, AggregatorInit, AggregatorReply, TaskMessage } from './aggregator-messages.ts';

export class Aggregator {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: AggregatorReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve('result' in msg ? msg.result : msg.metrics);
      else p.reject(new Error(msg.error));
    });
    worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  static async start(init: AggregatorInit): Promise<Aggregator> {
    const worker = new Worker(new URL('./aggregator-entry.mjs', import.meta.url), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new Aggregator(worker);
  }

  private call<T>(request: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.worker.postMessage({ id, request });
    });
  }

  /** Makes a task known to the worker: its spec, its test set (shared, not copied) when the server has one, and its generator. */
  addTask(name: string, spec: ModelSpec, test: LabelledImages | undefined, generatorDir: string | undefined): Promise<void> {
    let shared: TaskMessage['test'];
    if (test) {
      const images = new SharedArrayBuffer(test.images.byteLength);
      new Float32Array(images).set(test.images);
      const labels = new SharedArrayBuffer(test.labels.byteLength);
      new Uint8Array(labels).set(test.labels);
      shared = { images, labels, count: test.count };
    }
    const message: TaskMessage = { kind: 'task', name, spec, test: shared, generatorDir };
    return this.call<ClusterScore[]>(message).then(() => undefined);
  }

  /** The round's close and its scores (aggregator-worker.ts). */
  aggregate(request: AggregateRequest): Promise<AggregateResult> {
    return this.call(request);
  }

  /** Scores of models as they stand (round 1's starting models). */
  evaluate(task: string, models: ClusterModel[], evalSamples: number): Promise<ClusterScore[]> {
    return this.call({ kind: 'evaluate', task, models, evalSamples });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
