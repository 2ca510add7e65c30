import { describe, expect, it } from 'vitest';
import type { TaskSummary } from './api.ts';
import {
  classesText, evaluationHint, latestMetricRows, plainRefusal, perRoundSeries, runEvaluation, shapeText, taskOptionText, taskSummaryText, type ClusterMetric, type RoundMetrics,
} from './task-format.ts';

const shapes: TaskSummary = {
  name: 'shapes', inputShape: [32, 32, 1], classNames: ['circle', 'square', 'triangle', 'cross', 'ring', 'bar'],
  source: 'idx:shapes', trainImages: 1200, testImages: 300, serverEvaluates: true, generator: 'checkpoints/shapes-ddpm',
};
const fed: TaskSummary = {
  ...shapes, name: 'shapes-fed', inputShape: [48, 48, 3], testImages: 0, serverEvaluates: false, generator: null, stage2Off: "task 'shapes-fed' has no generator",
};

const metric = (clusterIndex: number, accuracy: number, extra: Partial<ClusterMetric> = {}): ClusterMetric => ({
  clusterIndex, widthRatio: clusterIndex === 0 ? 1 : 0.5, members: 2, updates: 2, accuracy, loss: 1 - accuracy, ...extra,
});
const round = (n: number, mean: number, clusters: ClusterMetric[]): RoundMetrics => ({ round: n, meanAccuracy: mean, clusters });

describe('task summaries', () => {
  it('names the shape, the classes and who evaluates', () => {
    expect(shapeText([32, 32, 1])).toBe('32×32×1 (grey)');
    expect(shapeText([48, 64, 3])).toBe('48×64×3 (colour)');
    expect(taskOptionText(shapes)).toBe('shapes (32×32×1 (grey), 6 classes, server evaluates)');
    expect(taskOptionText(fed)).toBe('shapes-fed (48×48×3 (colour), 6 classes, clients evaluate, Stage 1 only)');
    expect(taskSummaryText(shapes)).toBe('shapes: 32×32×1 (grey), 6 classes: circle, square, triangle, cross, ring, bar. 1200 training images, 300 test images; evaluated on the server test set. Stage 2 with the generator in checkpoints/shapes-ddpm.');
    expect(taskSummaryText(fed)).toMatch(/1200 training images; evaluated on the clients' held-out data \(the model they received\)\. Stage 1 only: task 'shapes-fed' has no generator\.$/);
  });

  it('lists up to `max` class names and counts the rest', () => {
    const names = Array.from({ length: 100 }, (_, i) => `c${i}`);
    expect(classesText(names, 3)).toBe('100 classes: c0, c1, c2 and 97 more');
    expect(classesText(['a', 'b'], 2)).toBe('2 classes: a, b');
  });
});

describe('evaluation kind', () => {
  it('follows the latest round, else the task, else the server', () => {
    expect(runEvaluation([], undefined)).toBe('server');
    expect(runEvaluation([], shapes)).toBe('server');
    expect(runEvaluation([], fed)).toBe('clients');
    expect(runEvaluation([round(1, 0.5, [metric(0, 0.5, { evaluatedBy: 'clients', evaluatedImages: 40 })])], shapes)).toBe('clients');
    expect(runEvaluation([round(1, 0.5, [metric(0, 0.5)])], fed)).toBe('server');
  });

  it('explains each kind above the charts', () => {
    expect(evaluationHint('server')).toMatch(/^Measured on the server test set/);
    expect(evaluationHint('clients')).toMatch(/^Measured on the clients' held-out data \(the model they received\)/);
  });
});

describe('per-round series', () => {
  it('puts server scores at their round and the starting model at round 0', () => {
    const s = perRoundSeries([round(1, 0.6, [metric(0, 0.6, { startAccuracy: 0.1, startLoss: 2.3 })]), round(2, 0.7, [metric(0, 0.7)])]);
    expect(s.clusters[0]?.accuracy.map((p) => [p.x, Math.round(p.y)])).toEqual([[0, 10], [1, 60], [2, 70]]);
    expect(s.clusters[0]?.loss[0]).toEqual({ x: 0, y: 2.3 });
    expect(s.clusters[0]?.evaluatedBy).toBe('server');
    expect(s.meanAccuracy.map((p) => p.x)).toEqual([1, 2]);
  });

  it('puts client scores at the round whose model the clients received, and skips clusters nobody scored', () => {
    const s = perRoundSeries([
      round(1, 0.2, [metric(0, 0.2, { evaluatedBy: 'clients', evaluatedImages: 60 }), metric(1, 0, { evaluatedBy: 'clients', evaluatedImages: 0 })]),
      round(2, 0.55, [metric(0, 0.5, { evaluatedBy: 'clients', evaluatedImages: 60 }), metric(1, 0.6, { evaluatedBy: 'clients', evaluatedImages: 60 })]),
    ]);
    expect(s.clusters.map((c) => [c.clusterIndex, c.evaluatedBy, c.accuracy.map((p) => p.x)])).toEqual([[0, 'clients', [0, 1]], [1, 'clients', [1]]]);
    expect(s.meanAccuracy.map((p) => [p.x, Math.round(p.y)])).toEqual([[0, 20], [1, 55]]);
  });

  it('has no mean point for a client-scored round nobody reported', () => {
    expect(perRoundSeries([round(1, 0, [metric(0, 0, { evaluatedBy: 'clients', evaluatedImages: 0 })])]).meanAccuracy).toEqual([]);
  });
});

describe('latest metrics', () => {
  it('says what each number was measured on and which model it scored', () => {
    expect(latestMetricRows([])).toEqual([]);
    expect(latestMetricRows([round(3, 0.7, [metric(1, 0.65), metric(0, 0.75)])])).toEqual([
      { cluster: '0 (w 1)', accuracy: '75.0%', loss: '0.250', evaluatedOn: 'server test set, model after round 3' },
      { cluster: '1 (w 0.5)', accuracy: '65.0%', loss: '0.350', evaluatedOn: 'server test set, model after round 3' },
    ]);
    const rows = latestMetricRows([round(1, 0.3, [metric(0, 0.3, { evaluatedBy: 'clients', evaluatedImages: 120 }), metric(1, 0, { evaluatedBy: 'clients', evaluatedImages: 0 })])]);
    expect(rows[0]?.evaluatedOn).toBe("clients' held-out data (120 images), the starting model they received in round 1");
    expect(rows[1]).toMatchObject({ accuracy: '-', evaluatedOn: "clients' held-out data: no client reported in round 1" });
    expect(latestMetricRows([round(4, 0.3, [metric(0, 0.3, { evaluatedBy: 'clients', evaluatedImages: 9 })])])[0]?.evaluatedOn).toMatch(/the model after round 3 they received in round 4$/);
  });
});

describe('refusals of a folder', () => {
  it('keeps the problem and drops the API wording before the field', () => {
    expect(plainRefusal('the folder cannot be registered as a task: dir: the folder lies outside the data root (--data-root)'))
      .toBe('the folder lies outside the data root (--data-root)');
    expect(plainRefusal("body.name: a task named 'shapes' exists already; choose another name")).toBe("a task named 'shapes' exists already; choose another name");
    expect(plainRefusal('body.dir: train-images-idx3-ubyte: magic 0x0909, is it an IDX ubyte file?')).toBe('train-images-idx3-ubyte: magic 0x0909, is it an IDX ubyte file?');
    expect(plainRefusal('Unauthorized')).toBe('Unauthorized');
  });
});
