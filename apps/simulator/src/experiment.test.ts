import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { defineTask } from '@fedtsa/core/task';
import { PRESETS, type SimulationConfig } from './config.ts';
import { buildExperiment } from './experiment.ts';

/** 16x16 colour images whose first value encodes their row, 4 classes in turn. */
function rows(count: number): LabelledImages {
  const per = 16 * 16 * 3;
  const images = new Float32Array(count * per);
  for (let i = 0; i < count; i++) images[i * per] = i / count;
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 4), count, height: 16, width: 16, channels: 3, numClasses: 4 };
}

const task = defineTask({ name: 'tiny', inputShape: [16, 16, 3], classNames: ['a', 'b', 'c', 'd'] });
const config: SimulationConfig = { ...(PRESETS.demo as SimulationConfig), numClients: 6, clientSamples: 300, testFraction: 0.2 };

describe('buildExperiment on a task', () => {
  beforeAll(async () => useBackend('wasm')); // the initial weights
  it("takes the model spec from the task and, without a test split, tests on held-out training rows no one else gets", () => {
    const train = rows(600);
    const exp = buildExperiment(config, task, train);
    expect(exp.spec).toMatchObject({ inputShape: [16, 16, 3], numClasses: 4 });
    expect(exp.test.count).toBe(120);
    expect(exp.evaluation).toMatch(/120 images held out of the training set \(--test-fraction 0.2\)/);
    const rowOf = (d: LabelledImages, i: number) => Math.round((d.images[i * 768] as number) * 600);
    const testRows = new Set(Array.from({ length: exp.test.count }, (_, i) => rowOf(exp.test, i)));
    for (const d of [exp.clientData, exp.publicPool, exp.validation]) {
      for (let i = 0; i < d.count; i++) expect(testRows.has(rowOf(d, i))).toBe(false);
    }
    expect(buildExperiment(config, task, train, rows(50)).evaluation).toBe("the task's test split (50 images)");
  });

  it('refuses data of another shape than the task, and more client samples than there are', () => {
    expect(() => buildExperiment(config, { ...task, inputShape: [32, 32, 3] }, rows(600))).toThrow(/train images are 16x16x3 with 4 classes, task 'tiny' needs 32x32x3 with 4/);
    expect(() => buildExperiment({ ...config, clientSamples: 500 }, task, rows(600))).toThrow(/500 client samples \(--client-samples\) but .* leaves 360/);
  });
});
