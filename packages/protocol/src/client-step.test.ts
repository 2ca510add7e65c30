import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel, getFlatWeights, setFlatWeights } from '@fedtsa/core/model';
import { createRng, deriveSeed } from '@fedtsa/core/rng';
import { trainLocal } from '@fedtsa/core/train';
import { runClientStep } from './client-step.ts';
import { decodeWeights, encodedByteLength, encodeWeights, type WeightDtype } from './codec.ts';
import type { TrainingTask } from './events.ts';
import { isUpdatePayload } from './messages.ts';

// The real model at width 1/8 (2, 4 and 16 channels/units) on 40 images: small and fast.
const SPEC: ModelSpec = { inputShape: [28, 28, 1], numClasses: 10 };
const WIDTH = 1 / 8;

function images(count: number, seed: number): LabelledImages {
  const rng = createRng(seed);
  return {
    images: Float32Array.from({ length: count * 784 }, () => rng.next()), labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count, height: 28, width: 28, channels: 1, numClasses: 10,
  };
}

function startWeights(widthRatio = WIDTH): Float32Array {
  const model = buildModel(SPEC, widthRatio, 7);
  const weights = getFlatWeights(model);
  model.dispose();
  return weights;
}

function makeTask(overrides: Partial<TrainingTask> = {}, dtype: WeightDtype = 'float32'): TrainingTask {
  const widthRatio = overrides.widthRatio ?? WIDTH;
  return {
    runId: 'run-1', round: 3, taskId: 'task-abc', clusterIndex: 1, widthRatio, deadline: 0,
    epochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd',
    weights: encodeWeights(startWeights(widthRatio), modelManifest(SPEC, widthRatio), dtype),
    ...overrides,
  };
}

/** The oracle: the step done by hand with the core's pieces. */
function trainByHand(task: TrainingTask, data: LabelledImages): { weights: Float32Array; loss: number } {
  const model = buildModel(SPEC, task.widthRatio);
  setFlatWeights(model, decodeWeights(task.weights), modelManifest(SPEC, task.widthRatio));
  const { loss } = trainLocal(model, data, {
    epochs: task.epochs, batchSize: task.batchSize, learningRate: task.learningRate, optimizer: task.optimizer,
    rng: createRng(deriveSeed(task.round, data.count)),
  });
  const weights = getFlatWeights(model);
  model.dispose();
  return { weights, loss };
}

describe('runClientStep', () => {
  beforeAll(async () => useBackend('wasm'));
  const data = images(40, 1);

  it('decodes, trains and encodes float32 exactly as the core does by hand, carrying the task back', async () => {
    const task = makeTask();
    const expected = trainByHand(task, data);
    const before = tf.memory().numTensors;
    const { update, loss } = await runClientStep(task, data, SPEC, { reads: 'sync' });
    expect(tf.memory().numTensors).toBe(before);
    expect(isUpdatePayload(update)).toBe(true);
    expect({ ...update, weights: undefined }).toEqual({
      runId: 'run-1', round: 3, clusterIndex: 1, taskId: 'task-abc', numSamples: 40, trainLoss: expected.loss, weights: undefined,
    });
    expect(loss).toBe(expected.loss);
    expect(update.weights.dtype).toBe('float32');
    expect(update.weights.manifest).toEqual(modelManifest(SPEC, WIDTH));
    const sent = decodeWeights(update.weights);
    expect(sent).toEqual(expected.weights);
    expect(sent).not.toEqual(decodeWeights(task.weights)); // it did train
  });

  it('uploads float16 at half the bytes, rounded from the same trained weights', async () => {
    const task = makeTask({}, 'float16');
    const expected = trainByHand(task, data);
    const before = tf.memory().numTensors;
    const { update } = await runClientStep(task, data, SPEC, { reads: 'sync', dtype: 'float16' });
    expect(tf.memory().numTensors).toBe(before);
    expect(update.weights.dtype).toBe('float16');
    expect(encodedByteLength(update.weights)).toBe(expected.weights.length * 2);
    expect(decodeWeights(update.weights)).toEqual(decodeWeights(encodeWeights(expected.weights, modelManifest(SPEC, WIDTH), 'float16')));
  });

  it('reads asynchronously to the same result, reporting every batch and awaiting between them', async () => {
    const task = makeTask();
    const sync = await runClientStep(task, data, SPEC, { reads: 'sync' });
    const progress: number[] = [];
    let waits = 0;
    const before = tf.memory().numTensors;
    const async = await runClientStep(task, data, SPEC, {
      reads: 'async', onBatch: (p) => progress.push(p.samplesSeen), betweenBatches: async () => { waits++; },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(decodeWeights(async.update.weights)).toEqual(decodeWeights(sync.update.weights));
    expect(async.loss).toBe(sync.loss);
    // 40 samples in batches of 16: 16, 32, 40 per epoch, two epochs
    expect(progress).toEqual([16, 32, 40, 56, 72, 80]);
    expect(waits).toBe(6);
  });

  it('follows the seed it is given', async () => {
    const task = makeTask();
    const a = await runClientStep(task, data, SPEC, { reads: 'sync', seed: 11 });
    const b = await runClientStep(task, data, SPEC, { reads: 'sync', seed: 11 });
    const byDefault = await runClientStep(task, data, SPEC, { reads: 'sync' });
    expect(decodeWeights(a.update.weights)).toEqual(decodeWeights(b.update.weights));
    expect(decodeWeights(a.update.weights)).not.toEqual(decodeWeights(byDefault.update.weights));
  });

  it("encodes the caller's transform of the trained weights, and gives it the task", async () => {
    const task = makeTask();
    const expected = trainByHand(task, data);
    const seen: { weights: Float32Array; taskId: string }[] = [];
    const { update } = await runClientStep(task, data, SPEC, {
      reads: 'sync',
      transform: (weights, t) => {
        seen.push({ weights: weights.slice(), taskId: t.taskId });
        return weights.map((v) => v * 100);
      },
    });
    expect(seen).toEqual([{ weights: expected.weights, taskId: 'task-abc' }]);
    expect(decodeWeights(update.weights)).toEqual(expected.weights.map((v) => v * 100));
  });

  it('refuses, naming itself, a task whose weights are not the width it names, or data of another shape, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const wrongWidth = { ...makeTask(), widthRatio: 0.25 };
    await expect(runClientStep(wrongWidth, data, SPEC, { reads: 'sync' })).rejects.toThrow(/runClientStep: task task-abc sends .* the width-0.25 model/);
    const small = { ...images(4, 2), height: 14, width: 14, images: new Float32Array(4 * 196) };
    await expect(runClientStep(makeTask(), small, SPEC, { reads: 'sync' })).rejects.toThrow(/runClientStep: the data is 14x14x1/);
    await expect(runClientStep(makeTask(), data, SPEC, { reads: 'sync', betweenBatches: async () => {} })).rejects.toThrow(/runClientStep: .*betweenBatches/);
    // Training itself throws (after the model is built): the model is still disposed.
    await expect(runClientStep(makeTask({ epochs: 0 }), data, SPEC, { reads: 'async' })).rejects.toThrow(/epochs must be a positive integer/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
