import { describe, expect, it } from 'vitest';
import { planClusters, snapshotClustering } from '@fedtsa/core/round/plan';
import { describeWidthReasons } from './width-reasons.ts';

const settings = { roundBudgetSec: 1, localEpochs: 4, expectedSamplesPerClient: 100 };
const speeds = new Map([['s0', 40], ['s1', 50], ['m0', 200], ['m1', 220], ['f0', 900], ['f1', 1000]]);
const profiles = [...speeds].map(([id, samplesPerSec]) => ({ id, samplesPerSec, numSamples: settings.expectedSamplesPerClient }));

describe('describeWidthReasons', () => {
  it("explains the plan's widths with the figures it weighed: slow end, budget, estimate at the width", () => {
    const clustering = snapshotClustering(planClusters(profiles, { roundBudgetSec: settings.roundBudgetSec, localEpochs: settings.localEpochs }));
    expect(clustering.clusters.map((c) => c.widthRatio)).toEqual([0.25, 0.5, 1]);
    const reasons = describeWidthReasons(clustering, speeds, settings);
    expect(reasons.map((r) => r.clusterIndex)).toEqual([0, 1, 2]);
    // 400 samples per round; slow ends (p10) 41, 202, 910 samples/s.
    expect(reasons.map((r) => r.slowEndSamplesPerSec)).toEqual([expect.closeTo(41, 9), expect.closeTo(202, 9), expect.closeTo(910, 9)]);
    for (const r of reasons) {
      expect(r.samplesPerRound).toBe(400);
      expect(r.roundBudgetSec).toBe(1);
      expect(r.estimatedSec).toBeCloseTo((400 * r.widthRatio ** 2) / r.slowEndSamplesPerSec, 12);
      expect(r.estimatedSec).toBeLessThanOrEqual(1); // nobody was raised past the budget here
      expect(r.fittingWidth).toBe(r.widthRatio);
      // and the next rung up would not have fitted
      if (r.widthRatio < 1) expect((400 * (2 * r.widthRatio) ** 2) / r.slowEndSamplesPerSec).toBeGreaterThan(1);
    }
  });

  it('shows a width raised by rank order (fitting width below it, estimate over budget) and skips clusters with no known member', () => {
    const clustering = {
      boundaries: [100], grid: { x: [], density: [] },
      clusters: [{ index: 0, widthRatio: 1, memberIds: ['s0', 's1'] }, { index: 1, widthRatio: 1, memberIds: ['gone'] }],
    };
    const [r, ...rest] = describeWidthReasons(clustering, speeds, settings);
    expect(rest).toEqual([]);
    expect(r!.widthRatio).toBe(1);
    expect(r!.fittingWidth).toBe(0.25); // 400 samples at 41/s: width 1 is 9.8 s, 0.5 is 2.4 s, 0.25 is 0.6 s
    expect(r!.estimatedSec).toBeCloseTo(400 / 41, 9);
  });
});
