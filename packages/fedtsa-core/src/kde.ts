/**
 * Capability clustering by a 1-D Gaussian kernel density over ln(samples/s)
 * (FEDTSA.md, method step 2). Log space because device throughput spans orders of
 * magnitude and tiers differ by ratios, not by differences. The number of clusters comes
 * out of the data: each deep enough valley of the density between two peaks is a boundary.
 */
import { percentile, WIDTH_LADDER } from './width-policy.ts';

export interface KdeOptions {
  /** Multiplies Silverman's bandwidth; > 1 smooths more (fewer clusters). Default 0.5. */
  bandwidthFactor: number;
  /** Floor on the bandwidth after bandwidthFactor, in ln(samples/s) units. 0 = none. */
  minBandwidthLog: number;
  /** Ceiling on the bandwidth after bandwidthFactor, in ln(samples/s) units; >= minBandwidthLog. Infinity = none. */
  maxBandwidthLog: number;
  /** Number of points on which the density is evaluated. Default 512. */
  gridSize: number;
  /**
   * A valley between two peaks is a boundary only if
   *   (min(leftPeak, rightPeak) - valley) / min(leftPeak, rightPeak) >= minProminence,
   * i.e. the density at the valley is at least this fraction below the lower of its two
   * neighbouring peaks. Shallower valleys are removed shallowest first, and the two peaks
   * they separated become one peak as high as the higher of the two, so a small bump next
   * to a real valley cannot hide it. In [0, 1); 0 keeps every local minimum. Default 0.5,
   * chosen together with bandwidthFactor 0.5 (see DEFAULT_KDE_OPTIONS).
   */
  minProminence: number;
  /** Clusters with fewer members merge into their nearest neighbour in log space (unless isolated). Default 2. */
  minClusterSize: number;
  /**
   * An undersized cluster whose members are at least this far (ln units, nearest members) from
   * both neighbouring clusters' stays a cluster: it is a tier, not noise. Infinity = always merge.
   */
  isolatedGapLog: number;
  /** At most this many clusters (one per width-ladder rung); the deepest valleys win. Default 4. */
  maxClusters: number;
}

/**
 * Silverman's rule oversmooths multimodal data, so the defaults narrow the kernel and ask for
 * deep valleys instead; at a handful of devices Silverman's rule is no guide at all (its
 * spread estimate is the spread between tiers), so the bandwidth is held between a floor and
 * a ceiling tied to what a tier is: devices within 1.5x of each other are one tier, devices
 * 4x or more apart are not.
 * - Floor ln(1.5) / 2: a tier spread over 1.5x spans at most two bandwidths, the limit below
 *   which two equal kernels make one peak, so a tier does not split.
 * - Ceiling ln(4) / 4: tiers 4x apart are four bandwidths apart, where the density between
 *   two kernels falls to ~27% of their peak, well past the 0.5 prominence.
 * - An undersized cluster 3x or more (between 1.5x and 4x) from both neighbours stays: at
 *   four devices one of them may be a tier of its own.
 * Measured with `npm run kde:recovery` (results/kde-recovery; 1,000 seeded draws per row,
 * before issue 16 = no floor, no ceiling, every undersized cluster merged), before -> now:
 *   2-3 tiers, spread <= 1.5x, gaps 4-16x, recovered:  n=4 32% -> 100%, n=6 30% -> 100%,
 *     n=8 44% -> 100%, n=12 56% -> 100%; one such tier kept whole: 36-77% -> 100% at each n
 *   (spread <= 2x, gaps 3-16x: recovered 97-100%, kept whole 100%);
 *   3 lognormal tiers 25/200/1500 samples/s, sigma 0.3, recovered: n=12 58% -> 95%,
 *     n=30 95% -> 97%, n=100 94% -> 94%;
 *   one lognormal, sigma 0.8, kept whole: n=12 48% -> 56%, n=30 62% -> 78%, n=100 72% -> 92%.
 * Earlier (200 seeds, no floor or ceiling): factor 1 with prominence 0.05 (Silverman as is)
 * recovered 75% at n=30; factor 0.6 recovered 2% at n=12. The simulator's 30-client presets
 * keep their clusterings and widths on seeds 1-3 (only the boundaries move, inside the gaps).
 * Splitting one population in two costs little (two clusters, maybe the same width); merging
 * real tiers gives weak devices a model they cannot train in time, so recovery wins.
 */
export const DEFAULT_KDE_OPTIONS: Readonly<KdeOptions> = Object.freeze({
  bandwidthFactor: 0.5,
  minBandwidthLog: Math.log(1.5) / 2,
  maxBandwidthLog: Math.log(4) / 4,
  gridSize: 512,
  minProminence: 0.5,
  minClusterSize: 2,
  isolatedGapLog: Math.log(3),
  maxClusters: WIDTH_LADDER.length,
});

/**
 * Bandwidth (ln units) used when the data have no spread (one client, or all equal):
 * 0.1 is a +-10% throughput kernel, the order of run-to-run benchmark noise.
 */
export const FALLBACK_BANDWIDTH_LOG = 0.1;

/** One client as the KDE sees it (the wire's CapabilityReport, in @fedtsa/protocol, is what a client sends). */
export interface ClientCapability {
  id: string;
  /** Training throughput of the width-1 reference model. */
  samplesPerSec: number;
}

export interface KdeCluster {
  /** 0 = slowest cluster. */
  index: number;
  /** Member ids in input order. */
  memberIds: string[];
  minCapability: number;
  maxCapability: number;
  /** Mean of ln(samples/s) over the members. */
  meanLogCapability: number;
}

export interface KdeClustering {
  /** Ascending capability order; clusters[i].index === i. */
  clusters: KdeCluster[];
  /** Cluster boundaries in samples/s, ascending; clusters.length - 1 entries. */
  boundaries: number[];
  /** Kernel bandwidth in ln(samples/s) units, after bandwidthFactor. */
  bandwidth: number;
  /** x in samples/s; density is per unit of ln(samples/s), so it integrates to ~1 over ln(x). */
  grid: { x: number[]; density: number[] };
  /** Client id -> cluster index. */
  assignment: Record<string, number>;
}

/** Silverman's rule of thumb 0.9 * min(std, IQR/1.34) * n^(-1/5), with a fallback for zero spread. */
export function silvermanBandwidth(logValues: readonly number[]): number {
  const n = logValues.length;
  if (n === 0) throw new Error('silvermanBandwidth: logValues must be non-empty');
  const mean = logValues.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(logValues.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const iqrScaled = (percentile(logValues, 0.75) - percentile(logValues, 0.25)) / 1.34;
  // A zero IQR with nonzero std (most points tied) must not collapse the kernel.
  const spread = iqrScaled > 0 ? Math.min(std, iqrScaled) : std;
  if (!(spread > 0)) return FALLBACK_BANDWIDTH_LOG;
  return 0.9 * spread * Math.pow(n, -1 / 5);
}

export function clusterByCapability(
  capabilities: readonly ClientCapability[],
  options?: Partial<KdeOptions>,
): KdeClustering {
  const opts = validate(capabilities, options);
  const logs = capabilities.map((c) => Math.log(c.samplesPerSec));
  const n = logs.length;
  const bandwidth = Math.min(Math.max(silvermanBandwidth(logs) * opts.bandwidthFactor, opts.minBandwidthLog), opts.maxBandwidthLog);

  const lo = minOf(logs) - 3 * bandwidth;
  const hi = maxOf(logs) + 3 * bandwidth;
  const step = (hi - lo) / (opts.gridSize - 1);
  const logGrid = Array.from({ length: opts.gridSize }, (_, i) => lo + i * step);
  const norm = 1 / (n * bandwidth * Math.sqrt(2 * Math.PI));
  const density = logGrid.map((x) => {
    let sum = 0;
    for (const xi of logs) {
      const z = (x - xi) / bandwidth;
      sum += Math.exp(-0.5 * z * z);
    }
    return sum * norm;
  });

  let boundaryLogs = findDensityValleys(logGrid, density, opts.minProminence, opts.maxClusters - 1);

  // Group member positions (indices into capabilities) by boundary interval.
  const groupOf = (x: number): number => boundaryLogs.filter((b) => x >= b).length;
  let groups: number[][] = Array.from({ length: boundaryLogs.length + 1 }, () => []);
  logs.forEach((x, i) => groups[groupOf(x)]!.push(i));

  // Merge undersized clusters, smallest first, into the neighbour with the smaller gap
  // between nearest members (an empty cluster has gap 0: it costs nothing to absorb), except
  // those isolated from both neighbours by at least isolatedGapLog.
  const gap = (a: number[], b: number[]): number =>
    a.length === 0 || b.length === 0
      ? 0
      : minOf(b.map((i) => logs[i]!)) - maxOf(a.map((i) => logs[i]!));
  for (;;) {
    if (groups.length === 1) break;
    const gapsOf = (i: number): [number, number] => [
      i > 0 ? gap(groups[i - 1]!, groups[i]!) : Infinity,
      i < groups.length - 1 ? gap(groups[i]!, groups[i + 1]!) : Infinity,
    ];
    let k = -1;
    groups.forEach((g, i) => {
      if (g.length >= opts.minClusterSize || Math.min(...gapsOf(i)) >= opts.isolatedGapLog) return;
      if (k < 0 || g.length < groups[k]!.length) k = i;
    });
    if (k < 0) break;
    const [leftGap, rightGap] = gapsOf(k);
    const left = leftGap <= rightGap ? k - 1 : k; // merge groups[left] and groups[left + 1]
    groups = [
      ...groups.slice(0, left),
      [...groups[left]!, ...groups[left + 1]!].sort((a, b) => a - b),
      ...groups.slice(left + 2),
    ];
    boundaryLogs = [...boundaryLogs.slice(0, left), ...boundaryLogs.slice(left + 1)];
  }

  const assignment: Record<string, number> = {};
  const clusters: KdeCluster[] = groups.map((members, index) => {
    const caps = members.map((i) => capabilities[i]!.samplesPerSec);
    for (const i of members) assignment[capabilities[i]!.id] = index;
    return {
      index,
      memberIds: members.map((i) => capabilities[i]!.id),
      minCapability: minOf(caps),
      maxCapability: maxOf(caps),
      meanLogCapability: members.reduce((a, i) => a + logs[i]!, 0) / members.length,
    };
  });

  return {
    clusters,
    boundaries: boundaryLogs.map(Math.exp),
    bandwidth,
    grid: { x: logGrid.map(Math.exp), density },
    assignment,
  };
}

/**
 * Positions (taken from `xs`, ascending) of the valleys of `density` that survive
 * hierarchical merging: repeatedly drop the shallowest valley (relative depth as in
 * KdeOptions.minProminence) while it is too shallow or there are more than `maxValleys`.
 * Equal neighbouring values are collapsed into runs first, because density underflows
 * to exact zeros between far-apart tiers and such a plateau is one valley (its middle).
 */
export function findDensityValleys(
  xs: readonly number[],
  density: readonly number[],
  minProminence: number,
  maxValleys: number,
): number[] {
  const runs: { start: number; end: number; value: number }[] = [];
  density.forEach((value, i) => {
    const last = runs[runs.length - 1];
    if (last && last.value === value) last.end = i;
    else runs.push({ start: i, end: i, value });
  });

  // Runs alternate peak, valley, peak, ... once the leading/trailing slopes are dropped.
  const peaks: number[] = [];
  const valleys: { x: number; value: number }[] = [];
  runs.forEach((run, k) => {
    const left = runs[k - 1]?.value ?? -Infinity;
    const right = runs[k + 1]?.value ?? -Infinity;
    if (run.value > left && run.value > right) peaks.push(run.value);
    else if (k > 0 && k < runs.length - 1 && run.value < left && run.value < right && peaks.length > 0) {
      valleys.push({ x: xs[Math.floor((run.start + run.end) / 2)]!, value: run.value });
    }
  });
  // Walking outward from a valley the runs rise until a peak (an edge run counts), so
  // valleys[j] lies between peaks[j] and peaks[j + 1].

  const depth = (j: number): number => 1 - valleys[j]!.value / Math.min(peaks[j]!, peaks[j + 1]!);
  while (valleys.length > 0) {
    let shallowest = 0;
    for (let j = 1; j < valleys.length; j++) if (depth(j) < depth(shallowest)) shallowest = j;
    if (depth(shallowest) >= minProminence && valleys.length <= maxValleys) break;
    peaks.splice(shallowest, 2, Math.max(peaks[shallowest]!, peaks[shallowest + 1]!));
    valleys.splice(shallowest, 1);
  }
  return valleys.map((v) => v.x);
}

// reduce, not Math.min(...xs): spreading a large array can overflow the call stack.
const minOf = (xs: readonly number[]): number => xs.reduce((a, b) => Math.min(a, b), Infinity);
const maxOf = (xs: readonly number[]): number => xs.reduce((a, b) => Math.max(a, b), -Infinity);

function validate(capabilities: readonly ClientCapability[], options?: Partial<KdeOptions>): KdeOptions {
  const fn = 'clusterByCapability';
  if (!Array.isArray(capabilities) || capabilities.length === 0) {
    throw new Error(`${fn}: capabilities must be a non-empty array`);
  }
  const seen = new Set<string>();
  capabilities.forEach((c, i) => {
    if (c === null || typeof c !== 'object' || typeof c.id !== 'string') {
      throw new Error(`${fn}: capabilities[${i}] must be an object with a string id`);
    }
    if (seen.has(c.id)) throw new Error(`${fn}: capabilities has duplicate id "${c.id}"`);
    seen.add(c.id);
    if (!(Number.isFinite(c.samplesPerSec) && c.samplesPerSec > 0)) {
      throw new Error(`${fn}: capabilities[${i}].samplesPerSec must be a finite number > 0, got ${c.samplesPerSec}`);
    }
  });
  // Explicit undefined in options means "use the default", as Partial<> allows it.
  const opts: KdeOptions = { ...DEFAULT_KDE_OPTIONS };
  for (const key of Object.keys(DEFAULT_KDE_OPTIONS) as (keyof KdeOptions)[]) {
    const value = options?.[key];
    if (value !== undefined) opts[key] = value;
  }
  const check = (ok: boolean, name: keyof KdeOptions, what: string): void => {
    if (!ok) throw new Error(`${fn}: options.${name} must be ${what}, got ${opts[name]}`);
  };
  check(Number.isFinite(opts.bandwidthFactor) && opts.bandwidthFactor > 0, 'bandwidthFactor', 'a finite number > 0');
  check(Number.isFinite(opts.minBandwidthLog) && opts.minBandwidthLog >= 0, 'minBandwidthLog', 'a finite number >= 0');
  check(opts.maxBandwidthLog > 0 && opts.maxBandwidthLog >= opts.minBandwidthLog, 'maxBandwidthLog', '> 0 and >= minBandwidthLog');
  check(opts.isolatedGapLog > 0, 'isolatedGapLog', 'a number > 0 (Infinity: undersized clusters always merge)');
  check(Number.isInteger(opts.gridSize) && opts.gridSize >= 3, 'gridSize', 'an integer >= 3');
  check(Number.isFinite(opts.minProminence) && opts.minProminence >= 0 && opts.minProminence < 1, 'minProminence', 'in [0, 1)');
  check(Number.isInteger(opts.minClusterSize) && opts.minClusterSize >= 1, 'minClusterSize', 'an integer >= 1');
  check(Number.isInteger(opts.maxClusters) && opts.maxClusters >= 1, 'maxClusters', 'an integer >= 1');
  return opts;
}
