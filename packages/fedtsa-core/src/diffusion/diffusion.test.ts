import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend.ts';
import { createRng } from '../rng.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { ddimSample } from './ddpm.ts';
import { DiffusionGenerator } from './generator.ts';
import { cosineSchedule, ddimTimesteps } from './schedule.ts';
import { DdpmTrainer } from './trainer.ts';
import { disposeUNet, type UNetConfig } from './unet.ts';

const tiny: UNetConfig = { imageShape: [8, 8, 1], numClasses: 2, channels: [8, 8, 8], embedDim: 16, groups: 4, patchSize: 1 };
const schedule = cosineSchedule(100);

/** Class 0: left half bright; class 1: right half bright. */
function tinyImages(n: number): { images: Float32Array; labels: Uint8Array } {
  const images = new Float32Array(n * 64);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) for (let p = 0; p < 64; p++) images[i * 64 + p] = ((p % 8 < 4) === (labels[i] === 0)) ? 0.9 : 0.1;
  return { images, labels };
}

function trainSteps(trainer: DdpmTrainer, steps: number, seed: number): number[] {
  const { images, labels } = tinyImages(16);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { loss, grads } = trainer.computeGradients(images, labels, seed * 1000 + s);
    trainer.applyGradients(grads);
    losses.push(loss);
  }
  return losses;
}

describe('class-conditional DDPM', () => {
  beforeAll(async () => useBackend('wasm'));

  it('has a decreasing cosine schedule and a DDIM grid from T-1 to 0', () => {
    for (let t = 1; t < schedule.steps; t++) expect(schedule.alphaBar[t]!).toBeLessThan(schedule.alphaBar[t - 1]!);
    expect(ddimTimesteps(schedule, 5)).toEqual([99, 74, 50, 25, 0]);
  });

  it('training a few steps on a tiny set lowers the loss, without leaking tensors', () => {
    const trainer = new DdpmTrainer(tiny, schedule, { learningRate: 3e-3, emaDecay: 0.99, labelDropout: 0.1 }, 1);
    trainSteps(trainer, 1, 1);
    const before = tf.memory().numTensors;
    const losses = trainSteps(trainer, 60, 2);
    expect(tf.memory().numTensors).toBe(before);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-15))).toBeLessThan(0.8 * mean(losses.slice(0, 15)));
    trainer.dispose();
  });

  it('DDIM sampling is deterministic for a seed and differs across seeds', () => {
    const trainer = new DdpmTrainer(tiny, schedule, { learningRate: 3e-3, emaDecay: 0.9, labelDropout: 0.1 }, 2);
    trainSteps(trainer, 5, 3);
    const params = trainer.emaParams();
    const labels = Uint8Array.from([0, 1, 1, 0]);
    const opts = { steps: 6, guidance: 2 };
    const a = ddimSample(params, tiny, schedule, labels, 7, opts);
    const b = ddimSample(params, tiny, schedule, labels, 7, opts);
    const c = ddimSample(params, tiny, schedule, labels, 8, opts);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
    disposeUNet(params);
    trainer.dispose();
  });

  it('a checkpoint saved and loaded reproduces the same samples, and training resumes exactly', async () => {
    const trainer = new DdpmTrainer(tiny, schedule, { learningRate: 3e-3, emaDecay: 0.9, labelDropout: 0.1 }, 3);
    trainSteps(trainer, 4, 4);
    const files = encodeCheckpoint(await trainer.toCheckpoint({ command: 'test' }));
    const restored = decodeCheckpoint(files.modelJson, files.weights.slice());
    expect(restored.step).toBe(4);
    expect(JSON.parse(files.modelJson).weightsManifest[0].paths).toEqual(['weights.bin']);

    const labels = Uint8Array.from([1, 0, 1]);
    const original = DiffusionGenerator.fromCheckpoint(await trainer.toCheckpoint({}), { steps: 5, guidance: 1 });
    const loaded = DiffusionGenerator.fromCheckpoint(restored, { steps: 5, guidance: 1 });
    expect((await loaded.sample(labels, 11)).images).toEqual((await original.sample(labels, 11)).images);

    // Resume: a fresh trainer restored from the checkpoint takes the same next steps as the original.
    const resumed = new DdpmTrainer(tiny, schedule, { learningRate: 3e-3, emaDecay: 0.9, labelDropout: 0.1 }, 99);
    await resumed.restore(restored);
    trainSteps(trainer, 2, 5);
    trainSteps(resumed, 2, 5);
    for (const [name, v] of trainer.params) expect(resumed.params.get(name)!.dataSync()).toEqual(v.dataSync());
    expect(resumed.step).toBe(6);
    await expect(loaded.sample(Uint8Array.from([2]), 1)).rejects.toThrow(/label 2/);
    [original, loaded].forEach((g) => g.dispose());
    [trainer, resumed].forEach((t) => t.dispose());
  });

  it('rejects a corrupt checkpoint with a clear error', () => {
    expect(() => decodeCheckpoint('{"format":"other"}', new Uint8Array(0))).toThrow(/fedtsa-ddpm/);
    expect(() => decodeCheckpoint('not json', new Uint8Array(0))).toThrow(/not JSON/);
    const { modelJson } = encodeCheckpoint({ config: tiny, scheduleSteps: 100, step: 0, tensors: new Map([['ema/x', { shape: [2], values: new Float32Array(2) }]]), history: [], notes: {} });
    expect(() => decodeCheckpoint(modelJson, new Uint8Array(4))).toThrow(/needs 8/);
  });

  it('pixel-unshuffled U-Net trains too', () => {
    const trainer = new DdpmTrainer({ ...tiny, patchSize: 2 }, schedule, { learningRate: 3e-3, emaDecay: 0.9, labelDropout: 0.1 }, 4);
    const losses = trainSteps(trainer, 30, 6);
    expect(losses.slice(-10).reduce((a, b) => a + b) / 10).toBeLessThan(losses.slice(0, 10).reduce((a, b) => a + b) / 10);
    const rng = createRng(1);
    expect(rng.next()).toBeGreaterThanOrEqual(0);
    trainer.dispose();
  });
});
