/**
 * The participant's accuracy chart as plain numbers: which cluster's accuracy to plot for each
 * round (the one this device was in that round), and where each point sits in the SVG. The
 * page (participant-view.ts) draws what these return; nothing here touches the DOM.
 */
import type { RoundProgress } from '@fedtsa/protocol/progress';

export interface AccuracyPoint {
  /** 0 is the starting model (round 1's start accuracy), when measured. */
  round: number;
  /** 0-1. */
  accuracy: number;
  clusterIndex: number;
}

/**
 * This device's cluster's accuracy by round. `localClusters` (round -> cluster, from the tasks
 * this page received) fills rounds where the coordinator's record does not name the device's
 * cluster; rounds with neither are left out, as is a cluster missing from a round's figures.
 */
export function clusterSeries(history: readonly RoundProgress[], localClusters: ReadonlyMap<number, number> = new Map()): AccuracyPoint[] {
  const points: AccuracyPoint[] = [];
  for (const r of history) {
    const cluster = r.yourCluster ?? localClusters.get(r.round);
    if (cluster === undefined) continue;
    const start = r.round === 1 ? r.startAccuracy?.find((s) => s.clusterIndex === cluster) : undefined;
    if (start) points.push({ round: 0, accuracy: start.accuracy, clusterIndex: cluster });
    const metric = r.clusters.find((c) => c.clusterIndex === cluster);
    if (metric) points.push({ round: r.round, accuracy: metric.accuracy, clusterIndex: cluster });
  }
  return points;
}

export interface ChartBox {
  width: number;
  height: number;
  /** Room left on each side for the axes' labels. */
  padding: number;
}

/**
 * SVG coordinates of the points: rounds spread evenly from the left edge to the right one (a
 * single round sits in the middle), accuracy from 0 at the bottom to 1 at the top (fixed, so
 * that charts compare across runs). Accuracy outside 0-1 is refused: it is not an accuracy.
 */
export function placePoints(points: readonly AccuracyPoint[], box: ChartBox): { x: number; y: number; point: AccuracyPoint }[] {
  if (!(box.width > 2 * box.padding && box.height > 2 * box.padding)) throw new Error(`placePoints: box ${box.width}x${box.height} leaves no room inside padding ${box.padding}`);
  const bad = points.find((p) => !(p.accuracy >= 0 && p.accuracy <= 1));
  if (bad) throw new Error(`placePoints: accuracy ${bad.accuracy} of round ${bad.round} is outside 0-1`);
  if (points.length === 0) return [];
  const rounds = points.map((p) => p.round);
  const first = Math.min(...rounds);
  const span = Math.max(...rounds) - first;
  const innerWidth = box.width - 2 * box.padding;
  const innerHeight = box.height - 2 * box.padding;
  return points.map((point) => ({
    x: box.padding + (span === 0 ? innerWidth / 2 : ((point.round - first) / span) * innerWidth),
    y: box.padding + (1 - point.accuracy) * innerHeight,
    point,
  }));
}

/** The `points` attribute of an SVG polyline through the placed points, two decimals. */
export const polylinePoints = (placed: readonly { x: number; y: number }[]): string => placed.map((p) => `${p.x.toFixed(2)},${p.y.toFixed(2)}`).join(' ');
