/**
 * Times one epoch of the client's loop (trainLocalAsync: shuffling, async loss reads, a yield
 * per batch) and one epoch of model.fit on the same model, backend, data and batch size,
 * alternating, and reports the median samples/s of each. The model is the given task's
 * width-1 model (bench-page.ts sends the task).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '@fedtsa/core/backend';
import { buildModel } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import { taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import { makeBatch, trainLocalAsync } from '@fedtsa/core/train';
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
    self.postMessage({ backend: event.data.backend, task: event.data.task.name, clientLoopSamplesPerSec: median(a), modelFitSamplesPerSec: median(b), ratio: median(a) / median(b), runs: a.length });
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
