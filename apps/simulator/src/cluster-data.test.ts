import { describe, expect, it } from 'vitest';
import { clusterDataRows, groupDataStats, labelCounts, labelCoverage, meanSd, median, pearson, totalVariation } from './cluster-data.ts';

/**
 * A hand-made partition of 200 rows over 4 classes, 50 each (row i has class i % 4):
 *   client A: 40 of class 0 (rows 0, 4, ...), client B: 40 of class 1,
 *   client C: 1 of class 2 and 49 of class 3, client D: the other 70 rows.
 */
const labels = Uint8Array.from({ length: 200 }, (_, i) => i % 4);
const ofClass = (k: number) => Array.from({ length: 50 }, (_, j) => 4 * j + k);
const a = ofClass(0).slice(0, 40);
const b = ofClass(1).slice(0, 40);
const c = [...ofClass(2).slice(0, 1), ...ofClass(3).slice(0, 49)];
const d = [...ofClass(0).slice(40), ...ofClass(1).slice(40), ...ofClass(2).slice(1), ...ofClass(3).slice(49)];

describe('label statistics', () => {
  it('counts labels and refuses one outside the classes', () => {
    expect(labelCounts(labels, c, 4)).toEqual([0, 0, 1, 49]);
    expect(labelCounts(labels, d, 4)).toEqual([10, 10, 49, 1]);
    expect(() => labelCounts(Uint8Array.from([0, 4]), [1], 4)).toThrow(/row 1 has label 4, not one of 0..3/);
  });

  it('covers a class only from 1% of the samples on', () => {
    expect(labelCoverage([0, 0, 1, 49])).toBe(2); // 1 of 50 = 2%
    expect(labelCoverage([0, 0, 1, 199])).toBe(1); // 1 of 200 = 0.5%
    expect(labelCoverage([1, 99])).toBe(2); // exactly 1%
    expect(labelCoverage([1, 99], 0.02)).toBe(1);
    expect(() => labelCoverage([0, 0])).toThrow(/no samples/);
  });

  it('measures total variation as half the L1 distance of the normalised counts', () => {
    expect(totalVariation([40, 0, 0, 0], [50, 50, 50, 50])).toBeCloseTo(0.75, 12);
    expect(totalVariation([10, 10], [1, 1])).toBe(0); // scale does not matter
    expect(totalVariation([1, 0], [0, 1])).toBe(1);
    expect(totalVariation([0, 0, 1, 49], [50, 50, 50, 50])).toBeCloseTo((0.25 + 0.25 + 0.23 + 0.73) / 2, 12);
    expect(() => totalVariation([1, 2], [1, 2, 3])).toThrow(/2 classes against 3/);
  });

  it('describes a group by its union and by its members', () => {
    const group = groupDataStats(labels, [a, b], 4);
    expect(group).toMatchObject({ members: 2, samples: 80, share: 0.4, coverage: 2 });
    expect(group.tvFromPool).toBeCloseTo(0.5, 12); // [0.5, 0.5, 0, 0] against uniform
    expect(group.meanClientTv).toBeCloseTo(0.75, 12);
    expect(group.meanClientCoverage).toBe(1);
    expect(groupDataStats(labels, [a, b, c, d], 4)).toMatchObject({ samples: 200, share: 1, coverage: 4, tvFromPool: 0 });
  });

  it('gives a row per cluster and one for everybody at the narrowest width', () => {
    const exp = {
      clientData: { labels, numClasses: 4 } as never,
      shards: [a, b, c, d].map((rows) => Int32Array.from(rows)),
      profiles: ['A', 'B', 'C', 'D'].map((id) => ({ id, samplesPerSec: 1, numSamples: 0 })),
      setup: { clusters: [{ index: 0, widthRatio: 0.25, memberIds: ['A', 'C'] }, { index: 1, widthRatio: 1, memberIds: ['B', 'D'] }], kde: {} as never },
    };
    const rows = clusterDataRows(exp); // cluster 1's single class-3 row is 0.9% of 110: not covered
    expect(rows.map((r) => [r.cluster, r.widthRatio, r.samples, r.coverage])).toEqual([[0, 0.25, 90, 3], [1, 1, 110, 3], ['all', 0.25, 200, 4]]);
    expect(rows[0]!.tvFromPool).toBeCloseTo(totalVariation([40, 0, 1, 49], [50, 50, 50, 50]), 12);
  });

  it('summarises paired differences and their correlation', () => {
    expect(meanSd([1, 2, 3])).toEqual({ mean: 2, sd: 1, n: 3 });
    expect(meanSd([4]).sd).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNaN();
  });
});
