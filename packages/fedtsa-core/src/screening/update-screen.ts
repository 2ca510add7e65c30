/**
 * Screening a cluster's updates once its round is in: the one policy for "is this update
 * plausible next to the others", shared by every runner. (Per-update checks that need no
 * neighbours, such as shape, finiteness and the reference-median norm on arrival, happen where
 * the bytes are decoded.)
 *
 *   1. Norm, leave-one-out: with at least NORM_MIN_UPDATES updates, one whose distance from the
 *      model sent exceeds `normMultiple` x the median distance of the OTHER updates of its
 *      cluster is dropped (one outlier cannot raise its own bar). Two updates are not compared:
 *      "the other" is one honest client, and in a 120-round run two honest clients of a cluster
 *      drifted 12x apart (their shards' optima differ), so the far one was dropped, the next
 *      round's reference became the near one's distance, and it was refused every round after.
 *   2. Direction: with at least DIRECTION_MIN_UPDATES updates left, each update's change
 *      (weights - sent) is compared with the coordinate-wise median change of the OTHER updates
 *      of its cluster; the update with the lowest cosine is dropped if that cosine is below
 *      `minCosine`, and the check repeats on the rest. A sign-flipped update of normal size,
 *      invisible to the norm, points against the others. Measured on the demo's Dirichlet(0.5)
 *      shards (bench/direction-cosines.ts, docs/robustness.md): honest cosines with the median of
 *      the others went as low as -0.08 (clusters of 4 to 8, rounds 1 and 3), flipped ones sat
 *      around -0.35; hence the default -0.15, which lets through only flips of updates that
 *      barely agreed with their cluster (and so do little harm flipped). Removing the worst first
 *      keeps a flipper from dragging its honest neighbours' references down (judged all at
 *      once, honest neighbours of a flipper dipped to -0.33). The median of all updates, the
 *      flipper included, separates nothing: it follows each update in its sparse coordinates.
 *      `minCosine` = -1 turns the check off.
 *   3. Consensus: the direction check runs only when the cluster agrees on a direction, that is
 *      when the median of its updates' leave-one-out cosines is at least `minConsensus`. Without
 *      a consensus there is nothing to point against: a flipped update looks like an honest one
 *      (its cosine is minus the honest one's, and honest ones then spread around zero), and the
 *      check drops honest updates instead. The default 0 asks only that the typical update agree
 *      with the others at all. Measured (docs/robustness.md, "The direction screen"): a cluster
 *      model at chance whose honest updates each pull towards their own labels had medians from
 *      -0.23 to 0.36, below 0 in 14 of 20 rounds, and lost 1 to 8 of 10 honest updates every
 *      round, which held it at chance for 20 rounds; with the gate it left chance in round 9. A
 *      minority of flippers lowers the median (each honest update's reference includes them),
 *      so a higher gate also spares flippers. `minConsensus` = -1 screens every cluster.
 */

/** Fewer updates than this give no reference distance for the leave-one-out norm (see the file comment). */
export const NORM_MIN_UPDATES = 3;

/**
 * Fewer updates than this give no stable reference direction: with 4, one honest update in 30
 * beside a flipper was dropped (bench/direction-cosines.ts); with 5 and more, none.
 */
export const DIRECTION_MIN_UPDATES = 5;

export interface ScreenSettings {
  normMultiple: number;
  /** In [-1, 1]; -1 = off. */
  minCosine: number;
  /** In [-1, 1]: the direction check runs only on a cluster whose median leave-one-out cosine is at least this; -1 = always. */
  minConsensus: number;
}

export const DEFAULT_SCREEN_SETTINGS: Readonly<ScreenSettings> = { normMultiple: 10, minCosine: -0.15, minConsensus: 0 };

export interface ScreenCandidate {
  clientId: string;
  weights: Float32Array;
  /** L2 distance of `weights` from the model sent. */
  distance: number;
}

export interface ScreenDrop {
  clientId: string;
  reason: 'norm' | 'direction';
  message: string;
  numbers: Record<string, number>;
}

export interface ScreenResult {
  kept: string[];
  dropped: ScreenDrop[];
  /** Cosine of each kept update's change with the cluster's median change (when the direction check ran). */
  cosines: Map<string, number>;
  /** The median of the first pass's leave-one-out cosines, when the direction check looked (5+ updates, minCosine > -1). */
  consensus?: number;
  /** Whether the direction check ran: false when it looked and found no consensus (consensus < minConsensus). */
  directionChecked: boolean;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function l2Distance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`l2Distance: lengths ${a.length} and ${b.length} differ`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

export function l2Norm(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) ** 2;
  return Math.sqrt(sum);
}

/** Coordinate-wise median of the changes (w_k - sent) of `updates`: [params]. */
export function medianChange(sent: Float32Array, updates: readonly Float32Array[]): Float32Array {
  const n = updates.length;
  if (n === 0) throw new Error('medianChange: need at least one update');
  const out = new Float32Array(sent.length);
  const column = new Float64Array(n);
  const mid = Math.floor(n / 2);
  for (let i = 0; i < sent.length; i++) {
    const s = sent[i] as number;
    for (let k = 0; k < n; k++) column[k] = ((updates[k] as Float32Array)[i] as number) - s;
    column.sort();
    out[i] = n % 2 ? (column[mid] as number) : ((column[mid - 1] as number) + (column[mid] as number)) / 2;
  }
  return out;
}

/** Cosine between (w - sent) and `direction`; 0 when either is zero. */
export function changeCosine(sent: Float32Array, w: Float32Array, direction: Float32Array): number {
  let dot = 0;
  let nw = 0;
  let nd = 0;
  for (let i = 0; i < sent.length; i++) {
    const c = (w[i] as number) - (sent[i] as number);
    const d = direction[i] as number;
    dot += c * d;
    nw += c * c;
    nd += d * d;
  }
  return nw > 0 && nd > 0 ? dot / Math.sqrt(nw * nd) : 0;
}

/**
 * For every update k: changeCosine(sent, updates[k], medianChange(sent, all updates but k)),
 * the same numbers, in one pass. Per coordinate the changes are sorted once, and the median
 * without k is read off the sorted column by where k's value falls (removing any of several
 * equal values leaves the same multiset). O(P n log n) instead of O(P n^2 log n): 30 width-1
 * updates took 5 s the direct way, on the coordinator's event loop.
 */
export function leaveOneOutCosines(sent: Float32Array, updates: readonly Float32Array[]): number[] {
  const n = updates.length;
  if (n < 2) throw new Error(`leaveOneOutCosines: need at least two updates, got ${n}`);
  const dot = new Float64Array(n);
  const nw = new Float64Array(n);
  const nd = new Float64Array(n);
  const change = new Float64Array(n);
  const sorted = new Float64Array(n);
  // The others are m = n - 1 values; in the sorted column of all n, removing rank r shifts the ranks above it down by one.
  const c = (n - 1) >> 1; // n odd: the others' median is the mean of their ranks c - 1 and c; n even: their rank c
  for (let i = 0; i < sent.length; i++) {
    const s = sent[i] as number;
    for (let k = 0; k < n; k++) change[k] = ((updates[k] as Float32Array)[i] as number) - s;
    sorted.set(change);
    sorted.sort();
    for (let k = 0; k < n; k++) {
      const v = change[k] as number;
      let m: number;
      if (n % 2 === 0) {
        // m odd, median at rank c of the others: v at or below sorted[c] removes a rank <= c.
        m = v <= (sorted[c] as number) ? (sorted[c + 1] as number) : (sorted[c] as number);
      } else {
        const mid = c; // n odd: sorted[mid] is the middle of all n
        const lo = v < (sorted[mid] as number) ? mid : mid - 1;
        const hi = v > (sorted[mid] as number) ? mid : mid + 1;
        m = ((sorted[lo] as number) + (sorted[hi] as number)) / 2;
      }
      const d = Math.fround(m); // medianChange stores the median as float32
      dot[k] += v * d;
      nw[k] += v * v;
      nd[k] += d * d;
    }
  }
  return Array.from(dot, (x, k) => ((nw[k] as number) > 0 && (nd[k] as number) > 0 ? x / Math.sqrt((nw[k] as number) * (nd[k] as number)) : 0));
}

export function validateScreenSettings(s: ScreenSettings, fn: string): void {
  if (!(Number.isFinite(s.normMultiple) && s.normMultiple > 1)) throw new Error(`${fn}: normMultiple must be > 1, got ${s.normMultiple}`);
  if (!(Number.isFinite(s.minCosine) && s.minCosine >= -1 && s.minCosine <= 1)) throw new Error(`${fn}: minCosine must be in [-1, 1], got ${s.minCosine}`);
  if (!(Number.isFinite(s.minConsensus) && s.minConsensus >= -1 && s.minConsensus <= 1)) throw new Error(`${fn}: minConsensus must be in [-1, 1], got ${s.minConsensus}`);
}

/** Screens one cluster's updates against each other (see the file comment). Pure; order of `updates` does not matter. */
export function screenClusterUpdates(sent: Float32Array, updates: readonly ScreenCandidate[], settings: ScreenSettings): ScreenResult {
  validateScreenSettings(settings, 'screenClusterUpdates');
  const dropped: ScreenDrop[] = [];
  let kept = [...updates];
  if (kept.length >= NORM_MIN_UPDATES) {
    kept = updates.filter((u) => {
      const others = median(updates.filter((x) => x !== u).map((x) => x.distance)) as number;
      if (!(others > 0 && u.distance > settings.normMultiple * others)) return true;
      dropped.push({
        clientId: u.clientId, reason: 'norm',
        message: `distance ${u.distance.toExponential(3)} > ${settings.normMultiple} x the median of the round's other updates ${others.toExponential(3)}`,
        numbers: { distance: u.distance, otherMedian: others, normMultiple: settings.normMultiple },
      });
      return false;
    });
  }
  const cosines = new Map<string, number>();
  let consensus: number | undefined;
  let directionChecked = false;
  if (settings.minCosine > -1 && kept.length >= DIRECTION_MIN_UPDATES) {
    let cos: number[] | undefined = leaveOneOutCosines(sent, kept.map((u) => u.weights));
    consensus = median(cos) as number;
    directionChecked = settings.minConsensus <= -1 || consensus >= settings.minConsensus;
    while (directionChecked && kept.length >= DIRECTION_MIN_UPDATES) {
      const c = cos ?? leaveOneOutCosines(sent, kept.map((u) => u.weights));
      cos = undefined;
      const scored = kept.map((u, k) => ({ u, cos: c[k] as number }));
      const worst = scored.reduce((a, b) => (b.cos < a.cos ? b : a));
      if (worst.cos >= settings.minCosine) {
        for (const x of scored) cosines.set(x.u.clientId, x.cos);
        break;
      }
      dropped.push({
        clientId: worst.u.clientId, reason: 'direction',
        message: `cosine ${worst.cos.toFixed(3)} with the median change of the ${kept.length - 1} other updates of its cluster < ${settings.minCosine}`,
        numbers: { cosine: worst.cos, minCosine: settings.minCosine, consensus: consensus as number },
      });
      kept = kept.filter((x) => x !== worst.u);
    }
  }
  return { kept: kept.map((u) => u.clientId), dropped, cosines, ...(consensus !== undefined ? { consensus } : {}), directionChecked };
}
