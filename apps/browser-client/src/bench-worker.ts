/**
 * Times one epoch of the client's loop (trainLocalAsync: shuffling, async loss reads, a yield
 * per batch) and one epoch of model.fit on the same model, backend, data and batch size,
 * alternating, and reports the median samples/s of each. The model is the given task's
 * width-1 model (bench-page.ts sends the task).
 * On wasm it also times, at every width of the ladder, a forward pass and trainLocal's step
 * with and without the fused step (bench/train-step.ts does the same in Node), interleaved,
 * medians of wall time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { BackendName } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import { taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import { makeBatch, trainLocal, trainLocalAsync } from '@fedtsa/core/train';
import { useBackend } from './backends.ts';

const N = 512;
const BATCH = 32;

self.onmessage = async (event: MessageEvent<{ backend: BackendName; task: TaskDefinition }>) => {
  try {
    await useBackend(event.data.backend);
    const spec = taskSpec(event.data.task);
    const [height, width, channels] = spec.inputShape;
    const data = {
      images: Float32Array.from({ length: N * height * width * channels }, (_, i) => ((i * 7919) % 255) / 255),
      labels: Uint8Array.from({ length: N }, (_, i) => i % spec.numClasses),
      count: N, height, width, channels, numClasses: spec.numClasses,
    };
    const model = buildModel(spec, 1, 1);
    model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: (y: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, p) });
    const { x, y } = makeBatch(data, Array.from({ length: N }, (_, i) => i));
    const ours = async () => {
      const t0 = performance.now();
      await trainLocalAsync(model, data, { epochs: 1, batchSize: BATCH, learningRate: 0.01, optimizer: 'sgd', rng: createRng(1) }, async () => {});
      return (N * 1000) / (performance.now() - t0);
    };
    const fit = async () => {
      const t0 = performance.now();
      await model.fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: true, verbose: 0 });
      return (N * 1000) / (performance.now() - t0);
    };
    await ours();
    await fit(); // warm-up both
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 5; i++) {
      a.push(await ours());
      b.push(await fit());
    }
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number;
    tf.dispose([x, y]);
    model.dispose();
    const widths = event.data.backend === 'wasm' ? [1, 0.5, 0.25, 0.125].map((w) => timeWidth(spec, data, w)) : [];
    self.postMessage({ backend: event.data.backend, task: event.data.task.name, clientLoopSamplesPerSec: median(a), modelFitSamplesPerSec: median(b), ratio: median(a) / median(b), runs: a.length, widths });
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};

/** Median ms of a forward pass and of trainLocal's step, fused and not, at one width. */
function timeWidth(spec: ModelSpec, data: LabelledImages, width: number) {
  const batches = 10;
  const model = buildModel(spec, width, 1);
  const subset = { ...data, count: batches * BATCH };
  const { x, y } = makeBatch(data, Array.from({ length: BATCH }, (_, i) => i));
  const forward = () => tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync());
  const train = (fusedStep: boolean) => () => trainLocal(model, subset, { epochs: 1, batchSize: BATCH, learningRate: 0.01, optimizer: 'sgd', rng: createRng(1), fusedStep });
  const ms = (fn: () => unknown, times: number) => {
    const t0 = performance.now();
    for (let i = 0; i < times; i++) fn();
    return (performance.now() - t0) / times;
  };
  ms(forward, 2);
  ms(train(false), 1);
  ms(train(true), 1);
  const f: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  for (let r = 0; r < 7; r++) {
    f.push(ms(forward, batches));
    before.push(ms(train(false), 1) / batches);
    after.push(ms(train(true), 1) / batches);
  }
  tf.dispose([x, y]);
  model.dispose();
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number;
  return { width, forwardMs: median(f), stepBeforeMs: median(before), stepAfterMs: median(after) };
}
