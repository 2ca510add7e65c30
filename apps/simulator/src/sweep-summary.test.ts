import { describe, expect, it } from 'vitest';
import { sweepMarkdown } from './sweep-markdown.ts';
import { curvesSvg, meanCurves } from './sweep-plot.ts';
import { chanceOf, clusterSummary, meanSd, pairedDifference, summarizeSweep, timeToTarget, type DoneCell } from './sweep-summary.ts';

/** A done cell: per-round accuracies (simulated clock 10 s per round unless none), final accuracy and clusters. */
function cell(arm: string, alpha: string, seed: number, perRound: number[], final: number, extra: { clusters?: [number, number][]; clock?: boolean; seconds?: number; global?: number } = {}): DoneCell {
  const clock = extra.clock ?? arm !== 'centralised';
  const clusters = (extra.clusters ?? [[1, final]]).map(([widthRatio, accuracy], clusterIndex) => ({ clusterIndex, widthRatio, members: 1, accuracy, loss: 1 }));
  const round = (r: number, acc: number) => ({
    round: r, clusters, meanAccuracy: acc, trainMs: 0, stage1Ms: 0, serverStepMs: 0, serverStepStats: {},
    ...(clock ? { simulatedSec: 10, simulatedElapsedSec: 10 * r + seed } : {}),
  });
  const rounds = perRound.map((acc, i) => round(i + 1, acc));
  return {
    alpha, seed, arm, task: 'toy (8x8x1, 4 classes)',
    result: { name: arm as DoneCell['result']['name'], rounds, final: { ...round(rounds.length, final), meanAccuracy: final, ...(extra.global !== undefined ? { globalAccuracy: extra.global } : {}) } },
    ...(extra.seconds !== undefined ? { meta: { commit: 'abc', command: 'x', seconds: extra.seconds, finishedAt: 'now' } } : {}),
  };
}

describe('meanSd', () => {
  it('gives the mean and the sample standard deviation', () => {
    const s = meanSd([0.7, 0.8, 0.9]);
    expect(s.mean).toBeCloseTo(0.8, 12);
    expect(s.sd).toBeCloseTo(0.1, 12); // sqrt((0.01 + 0 + 0.01) / 2)
    expect(s.n).toBe(3);
    expect(meanSd([0.5])).toEqual({ mean: 0.5, sd: 0, n: 1 });
    expect(meanSd([]).mean).toBeNaN();
  });
});

describe('pairedDifference', () => {
  it('pairs only the seeds both arms have done', () => {
    const fedtsa = [cell('fedtsa', '0.5', 1, [], 0.8), cell('fedtsa', '0.5', 2, [], 0.9), cell('fedtsa', '0.5', 4, [], 0.7)];
    const base = [cell('heterofl', '0.5', 2, [], 0.7), cell('heterofl', '0.5', 3, [], 0.1), cell('heterofl', '0.5', 4, [], 0.6)];
    const { perSeed, stats } = pairedDifference(fedtsa, base);
    expect(Object.keys(perSeed).map(Number)).toEqual([2, 4]);
    expect(perSeed[2]).toBeCloseTo(0.2, 12);
    expect(perSeed[4]).toBeCloseTo(0.1, 12);
    expect(stats.mean).toBeCloseTo(0.15, 12);
    expect(stats.sd).toBeCloseTo(Math.sqrt(0.005), 12);
  });
});

describe('timeToTarget', () => {
  it('takes the first round at or above the target and the simulated clock then, over the seeds that reach it', () => {
    // target 0.6: seed 1 reaches it at round 3 (clock 31 s), seed 2 at round 2 (clock 22 s), seed 3 never.
    const cells = [cell('a', '0.5', 1, [0.3, 0.5, 0.6, 0.55], 0.7), cell('a', '0.5', 2, [0.4, 0.65, 0.7], 0.7), cell('a', '0.5', 3, [0.1, 0.2, 0.59], 0.6)];
    // Without server time (none here): 10 s per round, 30 and 20 s.
    expect(timeToTarget(cells, 0.6)).toEqual({ reached: 2, seeds: 3, meanRound: 2.5, meanSimulatedSec: 26.5, meanDeviceSec: 25 });
    expect(timeToTarget(cells, 0.99)).toEqual({ reached: 0, seeds: 3 });
  });

  it('takes the server\'s measured time out of the device-only clock, round by round', () => {
    const c = cell('fedtsa', '0.5', 1, [0.3, 0.5, 0.7], 0.7);
    c.result.rounds.forEach((r) => { r.stage1Ms = 1000; r.serverStepMs = 2000; });
    // 10 simulated s per round, 3 of them the server's: 7 s per round of devices and network, target at round 3.
    expect(timeToTarget([c], 0.6)).toMatchObject({ reached: 1, meanRound: 3, meanDeviceSec: 21 });
    expect(summarizeSweep({ cells: [c], plan: [{ alpha: '0.5', seeds: [1] }], arms: ['fedtsa'], targetFraction: 0.9 }).alphas[0]!.arms[0]).toMatchObject({ meanServerSec: 9 });
  });
});

describe('chance and clusters', () => {
  it('reads chance from the task line and flags clusters below 1.5 x chance', () => {
    expect(chanceOf('fashion-mnist (28x28x1, 10 classes)')).toBeCloseTo(0.1, 12);
    expect(chanceOf('toy (8x8x1, 4 classes)')).toBe(0.25);
    expect(chanceOf(undefined)).toBe(0.1);
    // chance 0.25: 1.5 x chance = 0.375; cluster 1 is at 0.3 on seed 2 only.
    const cells = [cell('a', '0.5', 1, [], 0.6, { clusters: [[0.25, 0.5], [1, 0.7]] }), cell('a', '0.5', 2, [], 0.5, { clusters: [[0.25, 0.7], [1, 0.3]] })];
    const [c0, c1] = clusterSummary(cells, 0.25);
    expect(c0).toMatchObject({ clusterIndex: 0, widthRatios: [0.25], min: 0.5, nearChanceSeeds: [] });
    expect(c0?.mean).toBeCloseTo(0.6, 12);
    expect(c1).toMatchObject({ clusterIndex: 1, min: 0.3, nearChanceSeeds: [2] });
  });
});

describe('summarizeSweep', () => {
  const cells = [
    cell('fedavg-small', '0.5', 1, [0.5, 0.6], 0.62, { seconds: 10 }),
    cell('fedavg-small', '0.5', 2, [0.4, 0.5], 0.52, { seconds: 20 }),
    cell('fedtsa', '0.5', 1, [0.6, 0.75], 0.8, { seconds: 100, clusters: [[0.25, 0.2], [1, 0.9]] }),
    cell('centralised', 'any', 1, [0.8, 0.9], 0.9, { seconds: 30 }),
    cell('centralised', 'any', 2, [0.7, 0.8], 0.8, { seconds: 30 }),
    cell('fedavg-small', 'iid', 1, [0.7, 0.8], 0.81, { seconds: 10 }),
    cell('heterofl', '0.5', 1, [0.5, 0.6], 0.6, { global: 0.7 }),
    cell('heterofl', '0.5', 2, [0.5, 0.6], 0.6, { global: 0.8 }),
  ];
  const plan = [{ alpha: '0.5', seeds: [1, 2, 3] }, { alpha: 'iid', seeds: [1] }];
  const s = summarizeSweep({ cells, plan, arms: ['fedavg-small', 'fedtsa', 'centralised'], targetFraction: 0.9 });

  it('summarises each alpha with the bound from alpha-any on its seeds', () => {
    const a = s.alphas[0]!;
    expect(a.alpha).toBe('0.5');
    expect(a.seeds).toEqual([1, 2, 3]);
    expect(a.bound).toBeCloseTo(0.85, 12);
    expect(a.target).toBeCloseTo(0.765, 12);
    const fedavg = a.arms.find((r) => r.arm === 'fedavg-small')!;
    expect(fedavg.final.mean).toBeCloseTo(0.57, 12);
    expect(fedavg.final.n).toBe(2);
    expect(fedavg.planned).toBe(3);
    expect(fedavg.secondsPerCell.mean).toBe(15);
    expect(fedavg.commits).toEqual(['abc']);
    expect(fedavg.timeToTarget).toEqual({ reached: 0, seeds: 2 });
    expect(a.arms.find((r) => r.arm === 'fedtsa')!.timeToTarget).toEqual({ reached: 0, seeds: 1 });
    expect(a.arms.find((r) => r.arm === 'centralised')!.timeToTarget).toMatchObject({ reached: 2, meanRound: 1.5 });
    // fedtsa minus fedavg-small on seed 1 only.
    expect(Object.keys(a.paired['fedavg-small']!.perSeed)).toEqual(['1']);
    expect(a.paired['fedavg-small']!.stats.mean).toBeCloseTo(0.18, 12);
    expect(a.paired['centralised']!.stats.mean).toBeCloseTo(-0.1, 12);
    expect(s.alphas[1]!.bound).toBeCloseTo(0.9, 12); // iid: seed 1 only
  });

  it('counts cells planned and done (the bound once per seed) and their compute time', () => {
    // planned: 0.5 x 3 seeds x 2 arms + iid x 1 seed x 2 arms + centralised seeds 1, 2, 3 = 6 + 2 + 3 = 11
    expect(s.cellsPlanned).toBe(11);
    expect(s.cellsDone).toBe(6);
    expect(s.totalSeconds).toBe(200);
  });

  it('writes tables that flag a near-chance cluster and an unreached target, and plots every arm', () => {
    const md = sweepMarkdown(s, 'npm run sweep');
    expect(md).toContain('| fedavg-small | 62.0 | 52.0 | - | 57.0 +- 7.1 | 2 of 3 |');
    expect(md).toContain('fedtsa cluster 0 (seeds 1)');
    expect(md).toContain('not reached (on 2 of 2 seeds)');
    expect(md).toContain('width-1 global model (what their papers report), %: heterofl 75.0 +- 7.1 (2 of 2 seeds).');
    const curves = meanCurves(cells.filter((c) => c.alpha !== 'iid'), ['fedavg-small', 'fedtsa', 'centralised']);
    expect(curves.map((c) => c.arm)).toEqual(['fedavg-small', 'fedtsa', 'centralised']);
    expect(curves[0]!.points[1]).toEqual({ round: 2, accuracy: 0.55, simulatedSec: 21.5 });
    const svg = curvesSvg(curves, 'time', 'test');
    expect(svg).toContain('>centralised</text>');
    expect(svg.match(/<polyline/g)).toHaveLength(2); // the bound is a dashed line, not a curve, on the clock
    expect(curvesSvg(curves, 'round', 'test').match(/<polyline/g)).toHaveLength(3);
  });
});
