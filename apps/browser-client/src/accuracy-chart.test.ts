import { describe, expect, it } from 'vitest';
import type { RoundProgress } from '@fedtsa/protocol/progress';
import { clusterSeries, placePoints, polylinePoints, type AccuracyPoint } from './accuracy-chart.ts';

const cluster = (clusterIndex: number, accuracy: number) => ({ clusterIndex, widthRatio: 1, members: 2, updates: 2, accuracy, evaluatedBy: 'server' as const });

describe('clusterSeries', () => {
  const history: RoundProgress[] = [
    { round: 1, participants: 4, yourCluster: 1, startAccuracy: [{ clusterIndex: 0, accuracy: 0.1 }, { clusterIndex: 1, accuracy: 0.12 }], clusters: [cluster(0, 0.3), cluster(1, 0.4)] },
    // Reclustered: the device moved to cluster 0.
    { round: 2, participants: 4, yourCluster: 0, clusters: [cluster(0, 0.55), cluster(1, 0.5)] },
    { round: 3, participants: 4, yourCluster: null, clusters: [cluster(0, 0.6), cluster(1, 0.7)] },
  ];

  it("follows the device's cluster round by round, with round 0 from the start accuracy", () => {
    expect(clusterSeries(history)).toEqual([
      { round: 0, accuracy: 0.12, clusterIndex: 1 },
      { round: 1, accuracy: 0.4, clusterIndex: 1 },
      { round: 2, accuracy: 0.55, clusterIndex: 0 },
    ]);
  });

  it("fills a round the record does not place the device in from the page's own tasks, and skips it otherwise", () => {
    expect(clusterSeries(history, new Map([[3, 1], [2, 1]])).map((p) => [p.round, p.accuracy])).toEqual([[0, 0.12], [1, 0.4], [2, 0.55], [3, 0.7]]);
  });

  it('leaves out a cluster the round has no figures for', () => {
    expect(clusterSeries([{ round: 1, participants: 1, yourCluster: 4, clusters: [cluster(0, 0.3)] }])).toEqual([]);
  });
});

describe('placePoints', () => {
  const box = { width: 320, height: 160, padding: 20 };
  const pts = (...pairs: [number, number][]): AccuracyPoint[] => pairs.map(([round, accuracy]) => ({ round, accuracy, clusterIndex: 0 }));

  it('spreads rounds edge to edge and puts accuracy 0 at the bottom, 1 at the top', () => {
    const placed = placePoints(pts([0, 0], [1, 0.5], [2, 1]), box);
    expect(placed.map((p) => [p.x, p.y])).toEqual([[20, 140], [160, 80], [300, 20]]);
  });

  it('keeps the vertical scale fixed at 0-1 whatever the values', () => {
    const placed = placePoints(pts([1, 0.2], [3, 0.3]), box);
    expect(placed.map((p) => p.y)).toEqual([20 + 0.8 * 120, 20 + 0.7 * 120]);
    expect(placed.map((p) => p.x)).toEqual([20, 300]);
  });

  it('puts a single round in the middle and gives nothing for no rounds', () => {
    expect(placePoints(pts([2, 0.25]), box).map((p) => [p.x, p.y])).toEqual([[160, 110]]);
    expect(placePoints([], box)).toEqual([]);
  });

  it('refuses accuracy outside 0-1 and a box smaller than its padding', () => {
    expect(() => placePoints(pts([1, 1.2]), box)).toThrow(/1.2 of round 1 is outside 0-1/);
    expect(() => placePoints(pts([1, Number.NaN]), box)).toThrow(/outside 0-1/);
    expect(() => placePoints(pts([1, 0.5]), { width: 30, height: 160, padding: 20 })).toThrow(/no room/);
  });

  it('writes the polyline with two decimals', () => {
    expect(polylinePoints([{ x: 1, y: 2.345 }, { x: 3.3333, y: 4 }])).toBe('1.00,2.35 3.33,4.00');
  });
});
