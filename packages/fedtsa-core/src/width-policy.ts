/**
 * Picks a model width per capability cluster (FEDTSA.md, method step 3).
 *
 * Capability is training throughput in samples/s of the width-1 reference model. A
 * width-r model has ~r^2 of the parameters and FLOPs of the width-1 model (both dimensions
 * of every hidden weight matrix shrink by r), so its local-training time is taken as
 * samples * r^2 / capability. Each cluster is sized for its slow end (a low percentile of
 * its members), so that most members, not just the median one, finish within the budget.
 */

/** HeteroFL-style width rungs, widest first. */
export const WIDTH_LADDER = [1, 0.5, 0.25, 0.125] as const;

export interface WidthPolicyOptions {
  /** Wall-clock time a client may spend on local training per round. */
  roundBudgetSec: number;
  /**
   * Samples each client processes per round (local epochs * local data size). One number
   * for all clusters, or one per cluster (same order as `clusters`).
   */
  samplesPerRound: number | readonly number[];
  /** Allowed widths in (0, 1]; order does not matter. Default WIDTH_LADDER. */
  ladder?: readonly number[];
  /** Quantile in [0, 1] of member throughput that defines a cluster's slow end. Default DEFAULT_SLOW_END_PERCENTILE (0.1). */
  slowEndPercentile?: number;
}

export interface ClusterWidthChoice {
  /** Chosen rung of the ladder. */
  width: number;
  /**
   * Estimated local-training time of the slow end at `width`. Can exceed the budget when
   * even the narrowest rung does not fit or when monotonicity forced a wider rung.
   */
  estimatedSec: number;
  /** Slow-end throughput (samples/s at width 1) the estimate is based on. */
  slowEndCapability: number;
}

/**
 * Quantile of `values` at `q` in [0, 1] by linear interpolation between order statistics
 * (the "linear" / type-7 definition used by numpy and R by default): position q*(n-1) in
 * the sorted values.
 */
export function percentile(values: readonly number[], q: number): number {
  if (!Array.isArray(values) || values.length === 0) {
    throw new Error('percentile: values must be a non-empty array');
  }
  if (!(Number.isFinite(q) && q >= 0 && q <= 1)) {
    throw new Error(`percentile: q must be a number in [0, 1], got ${q}`);
  }
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`percentile: values must be finite numbers, got ${v}`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  return sorted[lo]! + frac * (sorted[hi]! - sorted[lo]!);
}

/** Estimated local-training time of `samples` at width `width` on a device of `capability` samples/s (at width 1). */
export function estimateTrainingSec(samples: number, width: number, capabilitySamplesPerSec: number): number {
  return (samples * width * width) / capabilitySamplesPerSec;
}

/** Quantile of member throughput that defines a cluster's slow end, unless WidthPolicyOptions says otherwise. */
export const DEFAULT_SLOW_END_PERCENTILE = 0.1;

/**
 * The widest rung of `ladder` on which the slow end (`slowEndCapability` samples/s at width 1)
 * trains `samples` within `roundBudgetSec`; the narrowest rung when none does.
 */
export function widestFittingWidth(samples: number, slowEndCapability: number, roundBudgetSec: number, ladder: readonly number[] = WIDTH_LADDER): number {
  const widestFirst = [...ladder].sort((a, b) => b - a);
  return widestFirst.find((r) => estimateTrainingSec(samples, r, slowEndCapability) <= roundBudgetSec) ?? widestFirst[widestFirst.length - 1]!;
}

/**
 * For clusters in ascending capability order, returns one width choice per cluster: the
 * widest rung whose slow-end estimate fits `roundBudgetSec` (the narrowest rung if none
 * fits), then raised so that a faster cluster never gets a narrower model than a slower one,
 * in both senses of faster: later in the given order, and with a faster slow end (the two
 * can disagree when hysteresis moved members, or when clusters train different sample
 * counts). Each width is the widest fit among the clusters no faster than it (the closure of
 * both orders), so nothing is raised further than that. Rank order matters more than the
 * budget here: Stage 2 mixes the models' knowledge, and a fast cluster stuck below a slow
 * one would waste its devices.
 */
export function chooseClusterWidths(
  clusters: readonly { memberCapabilities: readonly number[] }[],
  options: WidthPolicyOptions,
): ClusterWidthChoice[] {
  const fn = 'chooseClusterWidths';
  if (!Array.isArray(clusters)) throw new Error(`${fn}: clusters must be an array`);
  if (options === null || typeof options !== 'object') throw new Error(`${fn}: options must be an object`);
  const { roundBudgetSec, samplesPerRound } = options;
  const ladder = options.ladder ?? WIDTH_LADDER;
  const slowEndPercentile = options.slowEndPercentile ?? DEFAULT_SLOW_END_PERCENTILE;

  if (!(Number.isFinite(roundBudgetSec) && roundBudgetSec > 0)) {
    throw new Error(`${fn}: options.roundBudgetSec must be a finite number > 0, got ${roundBudgetSec}`);
  }
  if (!Array.isArray(ladder) || ladder.length === 0) {
    throw new Error(`${fn}: options.ladder must be a non-empty array`);
  }
  for (const r of ladder) {
    if (!(Number.isFinite(r) && r > 0 && r <= 1)) {
      throw new Error(`${fn}: options.ladder entries must be in (0, 1], got ${r}`);
    }
  }
  if (!(Number.isFinite(slowEndPercentile) && slowEndPercentile >= 0 && slowEndPercentile <= 1)) {
    throw new Error(`${fn}: options.slowEndPercentile must be in [0, 1], got ${slowEndPercentile}`);
  }
  const samplesPerCluster: readonly number[] = Array.isArray(samplesPerRound)
    ? samplesPerRound
    : clusters.map(() => samplesPerRound as number);
  if (samplesPerCluster.length !== clusters.length) {
    throw new Error(
      `${fn}: options.samplesPerRound has ${samplesPerCluster.length} entries but there are ${clusters.length} clusters`,
    );
  }
  for (const s of samplesPerCluster) {
    if (!(Number.isFinite(s) && s > 0)) {
      throw new Error(`${fn}: options.samplesPerRound must be finite numbers > 0, got ${s}`);
    }
  }

  const slowEnds = clusters.map((cluster, k) => {
    const caps = cluster?.memberCapabilities;
    if (!Array.isArray(caps) || caps.length === 0) {
      throw new Error(`${fn}: clusters[${k}].memberCapabilities must be a non-empty array`);
    }
    for (const c of caps) {
      if (!(Number.isFinite(c) && c > 0)) {
        throw new Error(`${fn}: clusters[${k}].memberCapabilities must be finite numbers > 0, got ${c}`);
      }
    }
    return percentile(caps, slowEndPercentile);
  });
  const widths = slowEnds.map((slowEnd, k) => widestFittingWidth(samplesPerCluster[k]!, slowEnd, roundBudgetSec, ladder));
  // j is no faster than k if it comes earlier or its slow end is slower; raise to a fixpoint (at most 4 clusters).
  for (let changed = true; changed;) {
    changed = false;
    for (let k = 0; k < widths.length; k++) {
      for (let j = 0; j < widths.length; j++) {
        if ((j < k || slowEnds[j]! < slowEnds[k]!) && widths[j]! > widths[k]!) {
          widths[k] = widths[j]!;
          changed = true;
        }
      }
    }
  }
  return widths.map((width, k) => ({
    width, estimatedSec: estimateTrainingSec(samplesPerCluster[k]!, width, slowEnds[k]!), slowEndCapability: slowEnds[k]!,
  }));
}

/** Why a cluster has `widthRatio`: its slow end, the budget, the estimate at that width, and what it would fit on its own. */
export interface WidthReason {
  widthRatio: number;
  slowEndCapability: number;
  roundBudgetSec: number;
  samplesPerRound: number;
  estimatedSec: number;
  fittingWidth: number;
}

/** The figures chooseClusterWidths weighed for one cluster, for people to read (the dashboard). */
export function explainClusterWidth(
  memberCapabilities: readonly number[],
  widthRatio: number,
  options: { roundBudgetSec: number; samplesPerRound: number; ladder?: readonly number[]; slowEndPercentile?: number },
): WidthReason {
  const { roundBudgetSec, samplesPerRound } = options;
  const slowEndCapability = percentile(memberCapabilities, options.slowEndPercentile ?? DEFAULT_SLOW_END_PERCENTILE);
  return {
    widthRatio, slowEndCapability, roundBudgetSec, samplesPerRound,
    estimatedSec: estimateTrainingSec(samplesPerRound, widthRatio, slowEndCapability),
    fittingWidth: widestFittingWidth(samplesPerRound, slowEndCapability, roundBudgetSec, options.ladder),
  };
}
