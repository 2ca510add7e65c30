import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { createRng } from '@fedtsa/core/rng';
import { createStage2Step } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import { createToySource } from '@fedtsa/core/stage2/toy-source';
import { PRESETS, type SimulationConfig } from './config.ts';
import { buildExperiment } from './experiment.ts';
import { FASHION_MNIST_TASK } from '@fedtsa/core/task';
import { holdoutSplit, STANDARD_HOLDOUT } from '@fedtsa/core/data/holdout';
import { WorkerPool } from './pool.ts';
import { describeClusters, describeTask, summarizeSeeds, toMarkdown, toSvg } from './report.ts';
import { runCentralised, runStrategy, type StrategyResult } from './run.ts';

/** Images whose first pixel encodes their row, so the test can tell where every image came from. */
function fakeTrain(count: number): LabelledImages {
  const rng = createRng(5);
  const images = new Float32Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    images[i * 784] = i / count;
    // class-dependent band so the models can learn something
    for (let p = 1; p < 784; p++) images[i * 784 + p] = (Math.floor(p / 78) === labels[i] ? 0.8 : 0.1) + 0.2 * rng.next();
  }
  return { images, labels, count, height: 28, width: 28, channels: 1, numClasses: 10 };
}

const config: SimulationConfig = {
  ...(PRESETS.default as SimulationConfig),
  numClients: 15, clientSamples: 600, publicPoolFraction: 0.2, validationFraction: 0.1, rounds: 2,
  evalSamplesPerRound: 100, workers: 2, roundBudgetSec: 0.3,
};

describe('simulation', () => {
  const train = fakeTrain(1500);
  const test = fakeTrain(200);
  let pool: WorkerPool;
  beforeAll(async () => useBackend('wasm'));
  afterAll(async () => pool?.close());

  it('keeps the public pool and validation disjoint from every client, and shards cover the client data once', () => {
    const exp = buildExperiment(config, FASHION_MNIST_TASK, train, test);
    const split = holdoutSplit(train.count, { ...STANDARD_HOLDOUT, publicPoolFraction: 0.2, validationFraction: 0.1 });
    const rowOf = (data: LabelledImages, i: number) => Math.round((data.images[i * 784] as number) * train.count);
    const clientRows = new Set(Array.from({ length: exp.clientData.count }, (_, i) => rowOf(exp.clientData, i)));
    for (const r of [...split.publicPool, ...split.validation]) expect(clientRows.has(r)).toBe(false);
    expect(exp.publicPool.count).toBe(300);
    const seen = new Int32Array(exp.clientData.count);
    for (const shard of exp.shards) for (const r of shard) seen[r]! += 1;
    expect(seen.every((n) => n === 1)).toBe(true);
    // three tiers -> three clusters, and the faster a cluster the wider its model
    expect(exp.setup.clusters).toHaveLength(3);
    const widths = exp.setup.clusters.map((c) => c.widthRatio);
    expect([...widths].sort((a, b) => a - b)).toEqual(widths);
    expect(widths[0]).toBeLessThan(widths[2]!);
  });

  it('runs every strategy and the centralised bound through rounds, with reports', async () => {
    const exp = buildExperiment(config, FASHION_MNIST_TASK, train, test);
    pool = await WorkerPool.create(exp.spec, exp.clientData, exp.test, 2);
    const messages: string[] = [];
    const progress = (m: string) => messages.push(m);
    const results: StrategyResult[] = [];
    for (const name of ['fedavg-small', 'heterofl', 'fedtsa-stage1'] as const) results.push(await runStrategy(name, config, exp, pool, progress));
    const synthetic = new SyntheticPool(createToySource([28, 28, 1], 10), { size: 40, refreshFraction: 0.25 });
    const stage2 = createStage2Step({ spec: exp.spec, pool: synthetic, mutualLearning: { steps: 2, batchSize: 16 }, seed: 3 });
    results.push(await runStrategy('fedtsa', config, exp, pool, progress, stage2));
    results.push(await runCentralised(config, exp, pool, progress));

    expect(messages.filter((m) => /round 2\/2/.test(m))).toHaveLength(4);
    for (const r of results) {
      expect(r.rounds).toHaveLength(2);
      for (const c of r.final.clusters) expect(c.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.final.meanAccuracy).toBeLessThanOrEqual(1);
    }
    const fedtsa = results.find((r) => r.name === 'fedtsa')!;
    expect(fedtsa.rounds[1]!.serverStepStats.generated).toBe(10); // a quarter of the pool regenerated in round 2
    expect(fedtsa.rounds[0]!.serverStepMs).toBeGreaterThan(0);
    // fedavg-small trains one model at the narrowest width for every cluster
    const small = results.find((r) => r.name === 'fedavg-small')!;
    expect(new Set(small.final.clusters.map((c) => c.widthRatio)).size).toBe(1);
    expect(new Set(small.final.clusters.map((c) => c.accuracy)).size).toBe(1);

    const report = { command: 'test', task: describeTask(exp), evaluation: exp.evaluation ?? '', config, machine: 'test', clusters: describeClusters(exp), kdeBoundaries: exp.setup.kde.boundaries, results };
    const md = toMarkdown(report);
    expect(md).toContain('| fedtsa |');
    expect(md).toContain('# Comparison on fashion-mnist (28x28x1, 10 classes)');
    expect(md).toContain("whole test set: the task's test split (200 images)");
    expect(md).toContain('Stage 2 mutual learning');
    expect(toSvg(report)).toMatch(/^<svg[\s\S]*<\/svg>$/);
    // two "seeds" with identical results: mean = the result, spread = 0
    const summary = summarizeSeeds([report, { ...report, config: { ...config, seed: 2 } }]);
    const small2 = (small.final.meanAccuracy * 100).toFixed(1);
    expect(summary).toContain(`| fedavg-small | ${small2} +- 0.0 |`);
    // paired differences: fedtsa minus fedavg-small on each seed, then their mean and sd
    const d = (fedtsa.final.meanAccuracy - small.final.meanAccuracy) * 100;
    const cell = `${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
    expect(summary).toContain(`| fedavg-small | ${cell} | ${cell} | ${d.toFixed(1)} +- 0.0 |`);
    expect(summary).toContain(`| fedtsa | ${(fedtsa.final.meanAccuracy * 100).toFixed(1)} | ${(fedtsa.final.meanAccuracy * 100).toFixed(1)} |`);
  });
});
