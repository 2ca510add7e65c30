import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@fedtsa/core/backend';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { cosineSchedule } from '@fedtsa/core/diffusion/schedule';
import { DdpmTrainer } from '@fedtsa/core/diffusion/trainer';
import type { UNetConfig } from '@fedtsa/core/diffusion/unet';
import { colourShapesDataset } from '@fedtsa/node-io/datasets/example-shapes';
import { writeColourIdxExample } from '@fedtsa/node-io/datasets/make-example';
import { PRESETS, type SimulationConfig } from '../config.ts';
import { buildExperiment } from '../experiment.ts';
import { generatorSource, loadGeneratorData } from './generator-data.ts';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { detectTaskSource, loadTaskData } from '@fedtsa/node-io/datasets/task-data';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('a generator for a colour task', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedtsa-colour-'));
  beforeAll(async () => useBackend('wasm'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains on tiny 16x16x3 colour shapes: the loss at fixed noise falls', () => {
    const config: UNetConfig = { imageShape: [16, 16, 3], numClasses: 3, channels: [8, 16, 16], embedDim: 32, groups: 4, patchSize: 2 };
    const { images: bytes, labels } = colourShapesDataset(12, 16, 3, 5);
    const images = Float32Array.from(bytes, (v) => v / 255);
    const trainer = new DdpmTrainer(config, cosineSchedule(100), { learningRate: 3e-3, emaDecay: 0.9, labelDropout: 0.1 }, 1);
    // The same four noise draws before and after, so the comparison is not at the mercy of which t were drawn.
    const heldLoss = () => mean([101, 102, 103, 104].map((s) => trainer.computeGradients(images, labels, s).loss));
    const before = heldLoss();
    trainer.applyGradients(trainer.computeGradients(images, labels, 0).grads); // Adam makes its slots on the first step
    const tensors = tf.memory().numTensors;
    for (let step = 1; step < 100; step++) trainer.applyGradients(trainer.computeGradients(images, labels, step).grads);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = heldLoss();
    expect(after).toBeLessThan(0.8 * before);
    trainer.dispose();
  });

  it('samples in the task shape from a checkpoint of that shape', async () => {
    const config: UNetConfig = { imageShape: [16, 16, 3], numClasses: 6, channels: [8, 8, 8], embedDim: 16, groups: 4, patchSize: 2 };
    const trainer = new DdpmTrainer(config, cosineSchedule(50), { learningRate: 1e-3, emaDecay: 0.9, labelDropout: 0.1 }, 2);
    const generator = DiffusionGenerator.fromCheckpoint(await trainer.toCheckpoint({}), { steps: 3, guidance: 1 });
    const samples = await generator.sample(Uint8Array.from([0, 5]), 1);
    expect([samples.height, samples.width, samples.channels, samples.numClasses]).toEqual([16, 16, 3, 6]);
    expect(samples.images.length).toBe(2 * 16 * 16 * 3);
    generator.dispose();
    trainer.dispose();
  });

  it("takes the simulation's public pool and keeps the classifier off it, with or without a test split", () => {
    writeColourIdxExample(dir, { trainCount: 240, testCount: 48, side: 16, seed: 3 });
    const key = (d: LabelledImages, i: number) => d.images.subarray(i * 768, i * 768 + 24).join(',');
    const config: SimulationConfig = { ...(PRESETS.default as SimulationConfig), numClients: 4, clientSamples: 100 };
    for (const withTest of [true, false]) {
      if (!withTest) for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) rmSync(join(dir, f));
      const data = loadGeneratorData(generatorSource(dir, undefined));
      expect(data.task.inputShape).toEqual([16, 16, 3]);
      expect(data.task.classNames).toEqual(['circle', 'ring', 'square', 'triangle', 'cross', 'bar']);
      expect([data.publicPool.count, data.validation.count, data.classifierTrain.count]).toEqual(withTest ? [40, 20, 180] : [33, 17, 150]);
      const task = loadTaskData(detectTaskSource(dir));
      const exp = buildExperiment(config, task.task, task.train, task.test);
      expect(data.publicPool.images).toEqual(exp.publicPool.images);
      expect(data.validation.images).toEqual(exp.validation.images);
      const pool = new Set(Array.from({ length: data.publicPool.count }, (_, i) => key(data.publicPool, i)));
      const judged = [data.classifierTrain, data.validation, exp.clientData];
      for (const d of judged) for (let i = 0; i < d.count; i++) expect(pool.has(key(d, i))).toBe(false);
    }
  });
});
