/**
 * Stage 1's averaging weights from the clients' sample-count claims. A claim is only a claim:
 * one client that says it holds 1e8 samples would otherwise own its cluster's average. So
 *   1. each claim is capped at `claimMultiple` x the median claim of the cluster's updates
 *      (robust while attackers are a minority), then
 *   2. no single client may hold more than `maxClientShare` of the cluster's total weight
 *      (at least 1/n, so equal weights are always allowed): the largest weights are lowered to
 *      a common level t, found in closed form, until the largest share is within the cap.
 * Honest clusters whose data sizes differ by less than the multiple keep plain FedAvg weights.
 */
import { median } from './update-screen.ts';

export interface WeightCaps {
  /** Default 3. */
  claimMultiple: number;
  /** In (0, 1]; default 0.5. */
  maxClientShare: number;
}

export function validateWeightCaps(c: WeightCaps, fn: string): void {
  if (!(Number.isFinite(c.claimMultiple) && c.claimMultiple >= 1)) throw new Error(`${fn}: claimMultiple must be >= 1, got ${c.claimMultiple}`);
  if (!(Number.isFinite(c.maxClientShare) && c.maxClientShare > 0 && c.maxClientShare <= 1)) throw new Error(`${fn}: maxClientShare must be in (0, 1], got ${c.maxClientShare}`);
}

/** Averaging weights, same order as `claims` (each claim > 0). */
export function cappedWeights(claims: readonly number[], caps: WeightCaps): number[] {
  const fn = 'cappedWeights';
  validateWeightCaps(caps, fn);
  claims.forEach((c, i) => {
    if (!(Number.isFinite(c) && c > 0)) throw new Error(`${fn}: claims[${i}] must be a positive number, got ${c}`);
  });
  const n = claims.length;
  if (n === 0) return [];
  const bound = caps.claimMultiple * (median(claims) as number);
  const w = claims.map((c) => Math.min(c, bound));
  const share = Math.max(caps.maxClientShare, 1 / n);
  // Lower the k largest to t with t = share * (k t + rest), i.e. t = share * rest / (1 - k share),
  // for the smallest k where t is at least the (k+1)-th largest weight.
  const order = w.map((_, i) => i).sort((a, b) => (w[b] as number) - (w[a] as number));
  const total = w.reduce((a, b) => a + b, 0);
  if ((w[order[0] as number] as number) <= share * total) return w;
  let rest = total;
  for (let k = 1; k <= n; k++) {
    rest -= w[order[k - 1] as number] as number;
    if (k * share >= 1) break; // all equal: every share is 1/n <= share
    const t = (share * rest) / (1 - k * share);
    const next = k < n ? (w[order[k] as number] as number) : 0;
    if (t >= next) {
      for (let j = 0; j < k; j++) w[order[j] as number] = t;
      return w;
    }
  }
  const equal = Math.min(...w);
  return w.map(() => equal);
}
