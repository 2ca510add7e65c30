import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PRESETS, type SimulationConfig } from './config.ts';
import { fitClientSamples, splitSizes } from './data-split.ts';
import { generatorMismatch } from '@fedtsa/node-io/generator-fit';

const preset = PRESETS.default as SimulationConfig;

describe('splitSizes', () => {
  it("gives the default preset Fashion-MNIST's standard sizes", () => {
    expect(splitSizes(preset, 60_000, 10_000)).toMatchObject({ test: 10_000, testFromTrain: false, publicPool: 10_000, validation: 5_000, clientPool: 45_000 });
  });

  it('holds a test share out of a dataset without a test split', () => {
    expect(splitSizes(preset, 600)).toMatchObject({ test: 100, testFromTrain: true, publicPool: 83, validation: 42, clientPool: 375 });
  });

  it('refuses a dataset too small for the clients, naming the numbers and the flags', () => {
    expect(() => splitSizes(preset, 30, 10)).toThrow(
      '30 training images: 5 public pool (--public-fraction 0.1667), 3 validation (--validation-fraction 0.0833) leaves 22 images for the clients, ' +
        'fewer than the 30 clients (--clients); lower --clients, --public-fraction or --validation-fraction, or add images',
    );
    expect(splitSizes(preset, 40, 10).clientPool).toBe(30);
  });

  it('refuses a test fraction that holds out nothing', () => {
    expect(() => splitSizes({ ...preset, testFraction: 0.001 }, 300)).toThrow(/--test-fraction 0.001 of its 300 training images holds out 0 for testing/);
  });
});

describe('fitClientSamples', () => {
  const sizes = splitSizes(preset, 3_600, 600);
  it("uses all the clients' images, with a note, when the preset asks for more", () => {
    const fit = fitClientSamples(12_000, false, sizes, preset);
    expect(fit.clientSamples).toBe(2_700);
    expect(fit.note).toMatch(/the preset's 12000 client samples are more than this dataset has: using all 2700 .* set --client-samples to choose/);
    expect(fitClientSamples(1_000, false, sizes, preset)).toEqual({ clientSamples: 1_000 });
  });

  it('refuses an explicit --client-samples that the dataset cannot give', () => {
    expect(() => fitClientSamples(3_000, true, sizes, preset)).toThrow(/--client-samples 3000 is more than the 2700 images left for clients .* ask for at most 2700/);
  });
});

describe('generatorMismatch', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedtsa-gen-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const generator = (imageShape: number[], numClasses: number): string => {
    const dir = join(root, imageShape.join('x'));
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: { config: { imageShape, numClasses } }, weightsManifest: [{ paths: ['w.bin'] }] }));
    writeFileSync(join(dir, 'w.bin'), '');
    return dir;
  };

  it("says why a generator does not fit the task's shape or classes", () => {
    const fmnist = generator([28, 28, 1], 10);
    expect(generatorMismatch(fmnist, { inputShape: [28, 28, 1], numClasses: 10 })).toBeUndefined();
    expect(generatorMismatch(fmnist, { inputShape: [32, 32, 1], numClasses: 6 })).toMatch(/makes 28x28x1 images of 10 classes, the task needs 32x32x1 of 6/);
    expect(generatorMismatch(join(root, 'none'), { inputShape: [32, 32, 1], numClasses: 6 })).toBeUndefined();
  });
});
