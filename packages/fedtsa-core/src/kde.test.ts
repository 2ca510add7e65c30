import { describe, expect, it } from 'vitest';
import {
  clusterByCapability,
  DEFAULT_KDE_OPTIONS,
  FALLBACK_BANDWIDTH_LOG,
  findDensityValleys,
  silvermanBandwidth,
  type ClientCapability,
  type KdeClustering,
} from './kde.ts';
import { createRng, randomNormal, shuffleInPlace, type Rng } from './rng.ts';

/** `count` clients named `${prefix}${i}`, lognormal around `centerSamplesPerSec` with ln-sd `sigmaLog`. */
function tier(rng: Rng, prefix: string, centerSamplesPerSec: number, count: number, sigmaLog: number): ClientCapability[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    samplesPerSec: centerSamplesPerSec * Math.exp(sigmaLog * randomNormal(rng)),
  }));
}

function threeTiers(seed: number, sigmaLog: number): ClientCapability[] {
  const rng = createRng(seed);
  return [...tier(rng, 'slow', 20, 10, sigmaLog), ...tier(rng, 'mid', 200, 10, sigmaLog), ...tier(rng, 'fast', 2000, 10, sigmaLog)];
}

const memberSets = (r: KdeClustering): string[][] => r.clusters.map((c) => [...c.memberIds].sort());
const recoversTiers = (r: KdeClustering, prefixes: string[]): boolean =>
  r.clusters.length === prefixes.length &&
  r.clusters.every((c, k) => c.memberIds.every((id) => id.startsWith(prefixes[k]!)));

describe('findDensityValleys', () => {
  const xs = [0, 1, 2, 3, 4, 5, 6];
  it('measures depth against the lower neighbouring peak, merging shallow valleys first', () => {
    // Peaks 10, 3, 10. The dip to 2.9 next to the small bump is shallow (3%) and goes first;
    // the bump then belongs to the right peak (height 10), so the valley at 1 is 90% deep.
    const d = [0, 10, 1, 3, 2.9, 10, 0];
    expect(findDensityValleys(xs, d, 0, 5)).toEqual([2, 4]);
    expect(findDensityValleys(xs, d, 0.7, 5)).toEqual([2]);
    expect(findDensityValleys(xs, d, 0.95, 5)).toEqual([]);
    expect(findDensityValleys(xs, d, 0, 1)).toEqual([2]); // the deeper one survives
    expect(findDensityValleys(xs, d, 0, 0)).toEqual([]);
  });
  it('treats a plateau of zeros as one valley at its middle and ignores edge slopes', () => {
    expect(findDensityValleys(xs, [0, 5, 0, 0, 0, 5, 0], 0.5, 5)).toEqual([3]);
    expect(findDensityValleys(xs, [1, 2, 3, 4, 3, 2, 1], 0, 5)).toEqual([]);
    expect(findDensityValleys(xs, [5, 4, 3, 2, 3, 4, 5], 0, 5)).toEqual([3]);
  });
});

describe('clusterByCapability', () => {
  it('finds exactly the three tiers of a 20 / 200 / 2000 samples/s mixture', () => {
    const caps = threeTiers(42, 0.2);
    const r = clusterByCapability(caps);
    expect(r.clusters).toHaveLength(3);
    expect(memberSets(r)).toEqual(
      ['slow', 'mid', 'fast'].map((p) => Array.from({ length: 10 }, (_, i) => `${p}${i}`).sort()),
    );
    expect(r.clusters.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.boundaries).toHaveLength(2);
    for (const [k, b] of r.boundaries.entries()) {
      expect(b).toBeGreaterThan(r.clusters[k]!.maxCapability);
      expect(b).toBeLessThan(r.clusters[k + 1]!.minCapability);
    }
    for (const c of caps) expect(r.assignment[c.id]).toBe(['slow', 'mid', 'fast'].findIndex((p) => c.id.startsWith(p)));
    const slow = r.clusters[0]!;
    const slowCaps = caps.filter((c) => c.id.startsWith('slow')).map((c) => c.samplesPerSec);
    expect(slow.minCapability).toBe(Math.min(...slowCaps));
    expect(slow.maxCapability).toBe(Math.max(...slowCaps));
    expect(slow.meanLogCapability).toBeCloseTo(slowCaps.reduce((a, v) => a + Math.log(v), 0) / 10, 12);
  });

  it('recovers the tiers for most seeds, not just one', () => {
    // Measured: 50/50 seeds at sigma 0.2 (99% over 300 seeds); see KdeOptions.minProminence.
    const hits = Array.from({ length: 50 }, (_, s) => recoversTiers(clusterByCapability(threeTiers(1000 + s, 0.2)), ['slow', 'mid', 'fast']));
    expect(hits.filter(Boolean).length).toBeGreaterThanOrEqual(48);
  });

  it('keeps a unimodal lognormal population in one cluster', () => {
    const rng = createRng(3);
    const r = clusterByCapability(tier(rng, 'u', 300, 100, 0.5));
    expect(r.clusters).toHaveLength(1);
    expect(r.boundaries).toEqual([]);
    expect(r.clusters[0]!.memberIds).toHaveLength(100);
    // Spurious splits must stay uncommon: measured 39/50 with the defaults (see DEFAULT_KDE_OPTIONS).
    const single = Array.from({ length: 50 }, (_, s) => clusterByCapability(tier(createRng(500 + s), 'u', 300, 100, 0.5)).clusters.length === 1);
    expect(single.filter(Boolean).length).toBeGreaterThanOrEqual(35);
  });

  it('is deterministic and does not depend on input order', () => {
    const caps = threeTiers(7, 0.25);
    const a = clusterByCapability(caps);
    const b = clusterByCapability(caps.map((c) => ({ ...c })));
    expect(b).toEqual(a);
    const shuffled = shuffleInPlace(createRng(1), caps.map((c) => ({ ...c })));
    const c = clusterByCapability(shuffled);
    expect(c.assignment).toEqual(a.assignment);
    expect(c.boundaries.length).toBe(a.boundaries.length);
  });

  it('merges an undersized cluster into its nearest neighbour in log space', () => {
    const rng = createRng(7);
    // A pair at ~300 sits nearer (in ln) to the 1000 tier than to the 10 tier.
    const caps = [...tier(rng, 'a', 10, 8, 0.1), ...tier(rng, 'b', 300, 2, 0.02), ...tier(rng, 'c', 1000, 8, 0.1)];
    const opts = { bandwidthFactor: 0.3, minProminence: 0.05 };
    expect(clusterByCapability(caps, { ...opts, minClusterSize: 1 }).clusters).toHaveLength(3);
    const merged = clusterByCapability(caps, { ...opts, minClusterSize: 3 });
    expect(merged.clusters).toHaveLength(2);
    expect(merged.boundaries).toHaveLength(1);
    expect(merged.clusters[1]!.memberIds).toEqual(expect.arrayContaining(['b0', 'b1', 'c0']));
    expect(merged.assignment['b0']).toBe(1);
  });

  it('merges a lone outlier within 3x of its neighbour, keeps one 3x or more away from both (isolatedGapLog)', () => {
    const rng = createRng(10);
    const caps = [...tier(rng, 'a', 20, 10, 0.2), ...tier(rng, 'c', 2000, 10, 0.2), { id: 'x', samplesPerSec: 1e6 }];
    expect(clusterByCapability(caps, { minClusterSize: 1 }).clusters).toHaveLength(3);
    // Before issue 16 every undersized cluster merged.
    const merged = clusterByCapability(caps, { isolatedGapLog: Infinity });
    expect(merged.clusters).toHaveLength(2);
    expect(merged.assignment['x']).toBe(1);
    expect(merged.clusters[1]!.maxCapability).toBe(1e6);
    const kept = clusterByCapability(caps);
    expect(kept.clusters).toHaveLength(3);
    expect(kept.clusters[2]!.memberIds).toEqual(['x']);

    // A narrow kernel splits off the 250: 1.9x from its neighbour is noise, so it merges.
    const near = [100, 120, 130, 250].map((s, i) => ({ id: `d${i}`, samplesPerSec: s }));
    const narrow = { minBandwidthLog: 0, maxBandwidthLog: 0.1 };
    expect(clusterByCapability(near, { ...narrow, minClusterSize: 1 }).clusters).toHaveLength(2);
    expect(clusterByCapability(near, narrow).clusters).toHaveLength(1);
    expect(clusterByCapability(near, { ...narrow, isolatedGapLog: Math.log(1.5) }).clusters).toHaveLength(2);
  });

  describe('small federations (issue 16; each case failed before it: no bandwidth floor or ceiling, every undersized cluster merged)', () => {
    const devices = (speeds: number[]): ClientCapability[] => speeds.map((s, i) => ({ id: `d${i}`, samplesPerSec: s }));
    const partition = (r: KdeClustering): string[][] => r.clusters.map((c) => c.memberIds);
    const before = { minBandwidthLog: 0, maxBandwidthLog: Infinity, isolatedGapLog: Infinity };

    it('keeps a one-device tier at n = 4 when it is 3x or more from the rest', () => {
      const caps = devices([100, 120, 130, 700]);
      expect(partition(clusterByCapability(caps))).toEqual([['d0', 'd1', 'd2'], ['d3']]);
      expect(partition(clusterByCapability(caps, before))).toEqual([['d0', 'd1', 'd2', 'd3']]);
      // Also in the middle: 14 -> 60 -> 1000 are 4.3x and 17x gaps.
      expect(partition(clusterByCapability(devices([10, 14, 60, 1000, 1100, 1400])))).toEqual([['d0', 'd1'], ['d2'], ['d3', 'd4', 'd5']]);
    });

    it('keeps a tier spread over 1.5x whole: the bandwidth floor ln(1.5) / 2', () => {
      const caps = devices([100, 101, 102, 103, 147, 148, 149, 150]);
      const r = clusterByCapability(caps);
      expect(r.bandwidth).toBeCloseTo(Math.log(1.5) / 2, 12);
      expect(r.clusters).toHaveLength(1);
      expect(clusterByCapability(caps, before).clusters).toHaveLength(2);
    });

    it('separates tiers 4x apart however far the others are: the bandwidth ceiling ln(4) / 4', () => {
      // Silverman's spread is dominated by the 16x gap and smooths the 4x one away.
      const caps = devices([10, 12, 50, 60, 1000, 1400]);
      const r = clusterByCapability(caps);
      expect(r.bandwidth).toBeCloseTo(Math.log(4) / 4, 12);
      expect(partition(r)).toEqual([['d0', 'd1'], ['d2', 'd3'], ['d4', 'd5']]);
      expect(clusterByCapability(caps, before).clusters).toHaveLength(2);
    });

    it('recovers random tiered draws and keeps random single tiers whole (a sample of the recovery command)', () => {
      // 2-3 tiers, spread <= 1.5x, gaps 4-16x, as results/kde-recovery draws them but with Math.random replaced by a seeded rng.
      const rng = createRng(16);
      let recovered = 0;
      let whole = 0;
      for (let d = 0; d < 100; d++) {
        const sizes = [1 + Math.floor(rng.next() * 3), 1 + Math.floor(rng.next() * 3), 1 + Math.floor(rng.next() * 4)];
        let start = Math.log(10);
        const tiers = sizes.map((size, t) => {
          if (t > 0) start += Math.log(4) + rng.next() * Math.log(4);
          const logs = Array.from({ length: size }, (_, i) => start + (i === 0 ? 0 : rng.next() * Math.log(1.5)));
          start = Math.max(...logs);
          return logs.map((x, i) => ({ id: `t${t}-${i}`, samplesPerSec: Math.exp(x) }));
        });
        const r = clusterByCapability(tiers.flat());
        if (partition(r).map((ids) => [...ids].sort().join()).join('|') === tiers.map((t) => t.map((c) => c.id).sort().join()).join('|')) recovered++;
        const one = Array.from({ length: 4 + d % 9 }, (_, i) => ({ id: `u${i}`, samplesPerSec: 50 * Math.exp(rng.next() * Math.log(1.5)) }));
        if (clusterByCapability(one).clusters.length === 1) whole++;
      }
      expect(recovered).toBeGreaterThanOrEqual(90);
      expect(whole).toBeGreaterThanOrEqual(90);
    });
  });

  it('respects maxClusters, keeping the deepest valleys', () => {
    const rng = createRng(8);
    const five = [10, 100, 1000, 10000, 100000].flatMap((c, t) => tier(rng, `t${t}-`, c, 6, 0.1));
    for (const maxClusters of [1, 2, 3, 4, 5]) {
      const r = clusterByCapability(five, { bandwidthFactor: 0.4, maxClusters });
      expect(r.clusters).toHaveLength(maxClusters);
      expect(r.boundaries).toHaveLength(maxClusters - 1);
    }
    expect(clusterByCapability(five, { bandwidthFactor: 0.4 }).clusters).toHaveLength(DEFAULT_KDE_OPTIONS.maxClusters);

    // 10 and 40 are close (shallow valley); 40 and 2000 far apart (deep valley).
    const rng2 = createRng(9);
    const uneven = [...tier(rng2, 'a', 10, 8, 0.2), ...tier(rng2, 'b', 40, 8, 0.2), ...tier(rng2, 'c', 2000, 8, 0.2)];
    expect(clusterByCapability(uneven, { bandwidthFactor: 0.3 }).clusters).toHaveLength(3);
    const two = clusterByCapability(uneven, { bandwidthFactor: 0.3, maxClusters: 2 });
    expect(recoversTiers(two, ['', 'c'])).toBe(true);
    expect(two.clusters[0]!.memberIds).toHaveLength(16);
  });

  it('density integrates to ~1 over ln(samples/s) on a grid spanning min-3h..max+3h', () => {
    const cases: ClientCapability[][] = [threeTiers(5, 0.3), [{ id: 'only', samplesPerSec: 50 }]];
    for (const caps of cases) {
      const r = clusterByCapability(caps, { gridSize: 400 });
      const lx = r.grid.x.map(Math.log);
      expect(lx).toHaveLength(400);
      expect(r.grid.density).toHaveLength(400);
      let integral = 0;
      for (let i = 1; i < lx.length; i++) integral += ((lx[i]! - lx[i - 1]!) * (r.grid.density[i]! + r.grid.density[i - 1]!)) / 2;
      // Tails beyond +-3h lose at most 2 * 0.135%.
      expect(integral).toBeGreaterThan(0.99);
      expect(integral).toBeLessThan(1.0001);
      const logs = caps.map((c) => Math.log(c.samplesPerSec));
      expect(lx[0]).toBeCloseTo(Math.min(...logs) - 3 * r.bandwidth, 9);
      expect(lx[lx.length - 1]).toBeCloseTo(Math.max(...logs) + 3 * r.bandwidth, 9);
    }
  });

  it('uses Silverman bandwidth times bandwidthFactor', () => {
    const logs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    // std (n-1) = 3.02765, IQR/1.34 = 4.5/1.34 = 3.3582 -> 0.9 * 3.02765 * 10^-0.2
    const expected = 0.9 * Math.sqrt(82.5 / 9) * Math.pow(10, -0.2);
    expect(silvermanBandwidth(logs)).toBeCloseTo(expected, 12);
    const caps = logs.map((l, i) => ({ id: `c${i}`, samplesPerSec: Math.exp(l) }));
    expect(clusterByCapability(caps, { bandwidthFactor: 2, maxBandwidthLog: Infinity }).bandwidth).toBeCloseTo(2 * expected, 9);
    // then held between minBandwidthLog and maxBandwidthLog
    expect(clusterByCapability(caps, { bandwidthFactor: 2 }).bandwidth).toBe(DEFAULT_KDE_OPTIONS.maxBandwidthLog);
    expect(clusterByCapability(caps, { bandwidthFactor: 2, maxBandwidthLog: 3 }).bandwidth).toBe(3);
    expect(clusterByCapability(caps, { bandwidthFactor: 0.01 }).bandwidth).toBe(DEFAULT_KDE_OPTIONS.minBandwidthLog);
    expect(clusterByCapability(caps, { bandwidthFactor: 0.01, minBandwidthLog: 0 }).bandwidth).toBeCloseTo(0.01 * expected, 12);
    // An outlier inflates std but not the IQR, so IQR/1.34 = 4.5/1.34 wins.
    expect(silvermanBandwidth([0, 1, 2, 3, 4, 5, 6, 7, 8, 100])).toBeCloseTo(0.9 * (4.5 / 1.34) * Math.pow(10, -0.2), 12);
  });

  it('falls back to a positive bandwidth and one cluster when there is no spread', () => {
    for (const caps of [
      [{ id: 'solo', samplesPerSec: 123 }],
      Array.from({ length: 6 }, (_, i) => ({ id: `same${i}`, samplesPerSec: 80 })),
    ]) {
      const r = clusterByCapability(caps, { bandwidthFactor: 2, minBandwidthLog: 0 });
      expect(r.bandwidth).toBeCloseTo(2 * FALLBACK_BANDWIDTH_LOG, 12);
      expect(clusterByCapability(caps).bandwidth).toBe(DEFAULT_KDE_OPTIONS.minBandwidthLog);
      expect(r.clusters).toHaveLength(1);
      expect(r.boundaries).toEqual([]);
      expect(r.grid.density.every((d) => Number.isFinite(d))).toBe(true);
    }
    // Mostly tied values: IQR is 0 but std is not, so the kernel must not collapse.
    const tied = [...Array.from({ length: 9 }, (_, i) => ({ id: `t${i}`, samplesPerSec: 100 })), { id: 'x', samplesPerSec: 1000 }];
    expect(clusterByCapability(tied).bandwidth).toBeGreaterThan(FALLBACK_BANDWIDTH_LOG);
  });

  it('rejects bad input with errors naming the function and argument', () => {
    const ok = [{ id: 'a', samplesPerSec: 1 }];
    const bad: [unknown, unknown, RegExp][] = [
      [[], undefined, /clusterByCapability: capabilities/],
      [null, undefined, /clusterByCapability: capabilities/],
      [[{ id: 'a', samplesPerSec: 0 }], undefined, /capabilities\[0\]\.samplesPerSec/],
      [[{ id: 'a', samplesPerSec: -3 }], undefined, /capabilities\[0\]\.samplesPerSec/],
      [[{ id: 'a', samplesPerSec: Number.NaN }], undefined, /samplesPerSec/],
      [[ok[0], { id: 'b', samplesPerSec: Infinity }], undefined, /capabilities\[1\]\.samplesPerSec/],
      [[{ id: 7, samplesPerSec: 1 }], undefined, /capabilities\[0\]/],
      [[ok[0], { id: 'a', samplesPerSec: 2 }], undefined, /duplicate id "a"/],
      [ok, { bandwidthFactor: 0 }, /options\.bandwidthFactor/],
      [ok, { gridSize: 2 }, /options\.gridSize/],
      [ok, { gridSize: 10.5 }, /options\.gridSize/],
      [ok, { minProminence: 1 }, /options\.minProminence/],
      [ok, { minProminence: -0.1 }, /options\.minProminence/],
      [ok, { minClusterSize: 0 }, /options\.minClusterSize/],
      [ok, { maxClusters: 0 }, /options\.maxClusters/],
      [ok, { minBandwidthLog: -0.1 }, /options\.minBandwidthLog/],
      [ok, { minBandwidthLog: Infinity }, /options\.minBandwidthLog/],
      [ok, { maxBandwidthLog: 0 }, /options\.maxBandwidthLog/],
      [ok, { minBandwidthLog: 0.3, maxBandwidthLog: 0.2 }, /options\.maxBandwidthLog/],
      [ok, { isolatedGapLog: 0 }, /options\.isolatedGapLog/],
      [ok, { isolatedGapLog: Number.NaN }, /options\.isolatedGapLog/],
    ];
    for (const [caps, opts, message] of bad) {
      expect(() => clusterByCapability(caps as ClientCapability[], opts as object)).toThrow(message);
      expect(() => clusterByCapability(caps as ClientCapability[], opts as object)).toThrow(/^clusterByCapability: /);
    }
    // Explicit undefined means "default", as Partial<KdeOptions> permits.
    expect(clusterByCapability(ok, { gridSize: undefined }).grid.x).toHaveLength(DEFAULT_KDE_OPTIONS.gridSize);
  });
});
