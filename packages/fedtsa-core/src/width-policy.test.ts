import { describe, expect, it } from 'vitest';
import { chooseClusterWidths, estimateTrainingSec, percentile, widestFittingWidth, WIDTH_LADDER } from './width-policy.ts';
import { createRng, randomInt } from './rng.ts';

describe('percentile', () => {
  it('interpolates linearly between order statistics', () => {
    const v = [4, 1, 3, 2]; // unsorted on purpose
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 1)).toBe(4);
    expect(percentile(v, 0.5)).toBeCloseTo(2.5, 12);
    expect(percentile(v, 0.1)).toBeCloseTo(1.3, 12); // position 0.3
    expect(percentile(v, 0.75)).toBeCloseTo(3.25, 12); // position 2.25
    expect(percentile([10, 20, 30, 40, 50], 0.1)).toBeCloseTo(14, 12); // position 0.4
    expect(percentile([7], 0.9)).toBe(7);
    expect(v).toEqual([4, 1, 3, 2]); // input untouched
  });

  it('rejects bad input', () => {
    expect(() => percentile([], 0.5)).toThrow(/percentile: values/);
    expect(() => percentile([1, Number.NaN], 0.5)).toThrow(/percentile: values/);
    expect(() => percentile([1], 1.5)).toThrow(/percentile: q/);
    expect(() => percentile([1], -0.1)).toThrow(/percentile: q/);
  });
});

describe('chooseClusterWidths', () => {
  it('picks the widest fitting rung per cluster on a hand example', () => {
    // budget 10 s, 1000 samples. Slow ends (p10): [5] -> 5; [50,60,100] -> 52; [200,300] -> 210.
    // 5 samples/s: r=1 200 s, 1/2 50 s, 1/4 12.5 s, 1/8 3.125 s -> 1/8
    // 52 samples/s: r=1 19.2 s, 1/2 4.81 s -> 1/2;  210 samples/s: r=1 4.76 s -> 1
    const out = chooseClusterWidths(
      [{ memberCapabilities: [5] }, { memberCapabilities: [100, 50, 60] }, { memberCapabilities: [300, 200] }],
      { roundBudgetSec: 10, samplesPerRound: 1000 },
    );
    expect(out.map((c) => c.width)).toEqual([0.125, 0.5, 1]);
    expect(out.map((c) => c.slowEndCapability)).toEqual([5, expect.closeTo(52, 10), expect.closeTo(210, 10)]);
    expect(out[0]!.estimatedSec).toBeCloseTo(3.125, 10);
    expect(out[1]!.estimatedSec).toBeCloseTo(250 / 52, 10);
    expect(out[2]!.estimatedSec).toBeCloseTo(1000 / 210, 10);
  });

  it('uses the narrowest rung when nothing fits and reports the overrun', () => {
    const [c] = chooseClusterWidths([{ memberCapabilities: [1, 2] }], { roundBudgetSec: 1, samplesPerRound: 1000 });
    expect(c!.width).toBe(0.125);
    expect(c!.slowEndCapability).toBeCloseTo(1.1, 12);
    expect(c!.estimatedSec).toBeCloseTo((1000 * 0.125 ** 2) / 1.1, 10);
    expect(c!.estimatedSec).toBeGreaterThan(1);
  });

  it('never gives a faster cluster a narrower width than a slower one', () => {
    // The second cluster has two slow stragglers, so its p10 (5) is below the first's (100):
    // on its own it would get 1/8 (3.125 s), but rank order forces width 1 (200 s).
    const out = chooseClusterWidths(
      [{ memberCapabilities: [100, 100, 100] }, { memberCapabilities: [5, 5, ...Array<number>(8).fill(1000)] }],
      { roundBudgetSec: 10, samplesPerRound: 1000 },
    );
    expect(out.map((c) => c.width)).toEqual([1, 1]);
    expect(out[1]!.slowEndCapability).toBe(5);
    expect(out[1]!.estimatedSec).toBeCloseTo(200, 10); // forced up, honestly reported
  });

  it('supports per-cluster samples and a custom, unordered ladder', () => {
    const out = chooseClusterWidths([{ memberCapabilities: [100] }, { memberCapabilities: [100] }], {
      roundBudgetSec: 10,
      samplesPerRound: [4000, 1000],
      ladder: [0.5, 1, 0.75],
      slowEndPercentile: 0,
    });
    // 4000 samples at 100/s: r=1 40 s, 0.75 22.5 s, 0.5 10 s (fits, <=) -> 0.5; 1000 -> 1
    expect(out.map((c) => c.width)).toEqual([0.5, 1]);
  });

  it('never gives a cluster with a faster slow end a narrower width, also against the given order', () => {
    // Cluster 0 trains 4000 samples, cluster 1 ten: on their own 0.5 and 1, although cluster 0's
    // slow end (100) is faster than cluster 1's (50). The slower-listed cluster is raised to 1.
    const perCluster = chooseClusterWidths([{ memberCapabilities: [100] }, { memberCapabilities: [50] }], {
      roundBudgetSec: 10, samplesPerRound: [4000, 10],
    });
    expect(perCluster.map((c) => c.width)).toEqual([1, 1]);
    expect(perCluster[0]!.estimatedSec).toBeCloseTo(40, 10); // forced up, honestly reported
    // Listed slow, fast, slower-at-the-slow-end: the last is raised by order (to 1), and then the
    // first, whose slow end (50) is faster than the last's (10), by the slow-end order.
    const three = chooseClusterWidths(
      [{ memberCapabilities: [50] }, { memberCapabilities: [1000] }, { memberCapabilities: [10] }],
      { roundBudgetSec: 10, samplesPerRound: 1000, slowEndPercentile: 0 },
    );
    expect(three.map((c) => c.width)).toEqual([1, 1, 1]);
    expect(widestFittingWidth(1000, 50, 10)).toBe(0.5); // what the first would get on its own (5 s)
  });

  it('is monotone in order and in slow-end speed, and raises no further than that, over many random inputs', () => {
    const rng = createRng(2024);
    for (let trial = 0; trial < 500; trial++) {
      const clusterCount = 1 + randomInt(rng, 4);
      const clusters = Array.from({ length: clusterCount }, () => ({
        memberCapabilities: Array.from({ length: 1 + randomInt(rng, 6) }, () => Math.exp(rng.next() * 9)),
      }));
      const samplesPerRound = trial % 2 === 0 ? 100 + randomInt(rng, 5000) : clusters.map(() => 100 + randomInt(rng, 5000));
      const samplesOf = (k: number): number => (typeof samplesPerRound === 'number' ? samplesPerRound : samplesPerRound[k]!);
      const options = { roundBudgetSec: 1 + rng.next() * 60, samplesPerRound };
      const out = chooseClusterWidths(clusters, options);
      expect(out).toHaveLength(clusterCount);
      const fits = out.map((c, k) => widestFittingWidth(samplesOf(k), c.slowEndCapability, options.roundBudgetSec));
      for (const [k, c] of out.entries()) {
        expect(WIDTH_LADDER).toContain(c.width);
        expect(c.slowEndCapability).toBeCloseTo(percentile(clusters[k]!.memberCapabilities, 0.1), 12);
        expect(c.estimatedSec).toBeCloseTo(estimateTrainingSec(samplesOf(k), c.width, c.slowEndCapability), 9);
        expect(c.width).toBeGreaterThanOrEqual(fits[k]!);
        expect(fits).toContain(c.width); // raised only to another cluster's fit
        for (const [j, d] of out.entries()) {
          if (j < k || d.slowEndCapability < c.slowEndCapability) expect(c.width).toBeGreaterThanOrEqual(d.width);
        }
      }
      // When the slow ends ascend with the order (the two senses of faster agree), making one
      // cluster faster never narrows any cluster's model. (When they disagree it can: a cluster
      // raised only to stay above a slower-ended one drops back once that one is no longer slower.)
      if (typeof samplesPerRound !== 'number' || out.some((c, k) => k > 0 && c.slowEndCapability < out[k - 1]!.slowEndCapability)) continue;
      const k = randomInt(rng, clusterCount);
      const factor = 1 + rng.next() * 20;
      const faster = clusters.map((c, i) => (i === k ? { memberCapabilities: c.memberCapabilities.map((p) => p * factor) } : c));
      const out2 = chooseClusterWidths(faster, options);
      for (const [i, c] of out2.entries()) expect(c.width).toBeGreaterThanOrEqual(out[i]!.width);
    }
  });

  it('returns nothing for no clusters', () => {
    expect(chooseClusterWidths([], { roundBudgetSec: 1, samplesPerRound: 1 })).toEqual([]);
  });

  it('rejects bad input with errors naming the function and argument', () => {
    const one = [{ memberCapabilities: [1] }];
    const base = { roundBudgetSec: 10, samplesPerRound: 100 };
    const cases: [unknown, unknown, RegExp][] = [
      [null, base, /clusters must be an array/],
      [one, null, /options must be an object/],
      [one, { ...base, roundBudgetSec: 0 }, /options\.roundBudgetSec/],
      [one, { ...base, roundBudgetSec: Number.NaN }, /options\.roundBudgetSec/],
      [one, { ...base, samplesPerRound: -1 }, /options\.samplesPerRound/],
      [one, { ...base, samplesPerRound: [1, 2] }, /options\.samplesPerRound has 2 entries/],
      [one, { ...base, ladder: [] }, /options\.ladder/],
      [one, { ...base, ladder: [1, 2] }, /options\.ladder/],
      [one, { ...base, ladder: [0] }, /options\.ladder/],
      [one, { ...base, slowEndPercentile: 2 }, /options\.slowEndPercentile/],
      [[{ memberCapabilities: [] }], base, /clusters\[0\]\.memberCapabilities/],
      [[...one, { memberCapabilities: [0] }], base, /clusters\[1\]\.memberCapabilities/],
      [[{ memberCapabilities: [Infinity] }], base, /clusters\[0\]\.memberCapabilities/],
    ];
    for (const [clusters, options, message] of cases) {
      const call = () => chooseClusterWidths(clusters as { memberCapabilities: number[] }[], options as typeof base);
      expect(call).toThrow(message);
      expect(call).toThrow(/^chooseClusterWidths: /);
    }
  });
});
