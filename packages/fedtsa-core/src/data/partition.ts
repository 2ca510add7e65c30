/**
 * How the training set is divided among simulated clients. Every function takes labels or
 * counts (not images) and returns index lists, so the same split can be applied to any
 * view of the data and stays reproducible from the injected Rng.
 *
 * Intended use: `splitHoldout` first divides the training set into a client pool, a public
 * pool and a validation split; the client pool (via `subset`) is then partitioned among
 * clients with `partitionIid` or `partitionDirichlet`, whose indices refer to that subset.
 * The official test set is never split here: it is held out for evaluation only, so no
 * tuning decision or generator ever sees it.
 */
import { randomDirichlet, shuffleInPlace, type Rng } from '../rng.ts';

function checkClients(fn: string, numClients: number, count: number): void {
  if (!Number.isInteger(numClients) || numClients < 1) throw new Error(`${fn}: numClients must be a positive integer, got ${numClients}`);
  if (numClients > count) throw new Error(`${fn}: ${numClients} clients but only ${count} samples`);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Shuffles all indices and deals them into numClients near-equal parts (sizes differ by at most 1). */
export function partitionIid(labels: ArrayLike<number>, numClients: number, rng: Rng): number[][] {
  checkClients('partitionIid', numClients, labels.length);
  const order = shuffleInPlace(rng, range(labels.length));
  const parts: number[][] = [];
  const base = Math.floor(order.length / numClients);
  const extra = order.length % numClients;
  let at = 0;
  for (let k = 0; k < numClients; k++) {
    const size = base + (k < extra ? 1 : 0);
    parts.push(order.slice(at, at + size));
    at += size;
  }
  return parts;
}

export interface DirichletOptions {
  /** Every client must receive at least this many samples; otherwise the whole split is redrawn. Default 10. */
  minPerClient?: number;
  /** Redraws before giving up with an error. Default 1000. */
  maxTries?: number;
}

/**
 * The per-class Dirichlet split used throughout the FL literature (Yurochkin et al. 2019;
 * Hsu et al. 2019; NIID-Bench without its balancing tweak): for each class, draw client
 * proportions p ~ Dir(alpha) and cut that class's shuffled indices at the cumulative
 * proportions. Small alpha concentrates each class on a few clients (strong label skew);
 * large alpha approaches IID. Client sizes vary, which is part of the heterogeneity.
 */
export function partitionDirichlet(
  labels: ArrayLike<number>,
  numClients: number,
  alpha: number,
  rng: Rng,
  options: DirichletOptions = {},
): number[][] {
  const fn = 'partitionDirichlet';
  checkClients(fn, numClients, labels.length);
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`${fn}: alpha must be a finite number > 0, got ${alpha}`);
  const minPerClient = options.minPerClient ?? 10;
  const maxTries = options.maxTries ?? 1000;
  if (!Number.isInteger(minPerClient) || minPerClient < 0) throw new Error(`${fn}: minPerClient must be a non-negative integer, got ${minPerClient}`);
  if (!Number.isInteger(maxTries) || maxTries < 1) throw new Error(`${fn}: maxTries must be a positive integer, got ${maxTries}`);
  if (minPerClient * numClients > labels.length) {
    throw new Error(`${fn}: ${numClients} clients x minPerClient ${minPerClient} exceeds the ${labels.length} samples`);
  }

  const byClass: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (!Number.isInteger(l) || l < 0) throw new Error(`${fn}: label ${l} at index ${i} is not a non-negative integer`);
    (byClass[l] ??= []).push(i);
  }

  for (let attempt = 0; attempt < maxTries; attempt++) {
    const parts: number[][] = Array.from({ length: numClients }, () => []);
    for (const members of byClass) {
      if (members === undefined || members.length === 0) continue;
      const idx = shuffleInPlace(rng, members);
      const p = randomDirichlet(rng, alpha, numClients);
      let cum = 0;
      let start = 0;
      for (let k = 0; k < numClients; k++) {
        cum += p[k] as number;
        // The last cut is pinned to the end so rounding never drops or duplicates an index.
        const end = k === numClients - 1 ? idx.length : Math.min(idx.length, Math.round(cum * idx.length));
        const part = parts[k] as number[];
        for (let j = start; j < end; j++) part.push(idx[j] as number);
        start = Math.max(start, end);
      }
    }
    if (parts.every((p) => p.length >= minPerClient)) return parts;
  }
  throw new Error(
    `${fn}: no split with every client >= ${minPerClient} samples in ${maxTries} tries ` +
      `(alpha ${alpha}, ${numClients} clients, ${labels.length} samples); raise alpha or lower minPerClient`,
  );
}

export interface HoldoutFractions {
  /** Share of the training set reserved for the server's generator; no client ever holds it. */
  publicPool: number;
  /** Share reserved for hyperparameter tuning, so tuning never touches the test set. */
  validation: number;
}

export interface HoldoutSplit {
  clientPool: number[];
  publicPool: number[];
  validation: number[];
}

/**
 * Splits training indices [0, count) into three disjoint sets covering all of them. Sizes
 * are rounded from the fractions; each list is sorted ascending since its order carries no
 * meaning. The test set is not an input: it stays separate, for evaluation only.
 */
export function splitHoldout(count: number, fractions: HoldoutFractions, rng: Rng): HoldoutSplit {
  const fn = 'splitHoldout';
  if (!Number.isInteger(count) || count < 1) throw new Error(`${fn}: count must be a positive integer, got ${count}`);
  const { publicPool, validation } = fractions;
  for (const [name, f] of [['publicPool', publicPool], ['validation', validation]] as const) {
    if (!(f >= 0 && f < 1)) throw new Error(`${fn}: fraction ${name} must be in [0, 1), got ${f}`);
  }
  if (publicPool + validation >= 1) {
    throw new Error(`${fn}: publicPool + validation = ${publicPool + validation} leaves nothing for clients, must be < 1`);
  }
  const nPublic = Math.round(publicPool * count);
  const nValidation = Math.round(validation * count);
  if (nPublic + nValidation >= count) {
    throw new Error(`${fn}: ${nPublic} public + ${nValidation} validation of ${count} samples leaves nothing for clients`);
  }
  const order = shuffleInPlace(rng, range(count));
  const asc = (a: number, b: number): number => a - b;
  return {
    publicPool: order.slice(0, nPublic).sort(asc),
    validation: order.slice(nPublic, nPublic + nValidation).sort(asc),
    clientPool: order.slice(nPublic + nValidation).sort(asc),
  };
}

/**
 * Label skew of a partition: the mean, over non-empty clients, of the total-variation
 * distance between the client's label distribution and that of all partitioned samples.
 * 0 means every client sees the global mix; it approaches 1 - 1/numClasses when each
 * client holds a single class of a balanced set. Clients are weighted equally so that a few
 * large near-IID clients cannot hide many small skewed ones.
 */
export function labelSkew(parts: readonly (readonly number[])[], labels: ArrayLike<number>, numClasses: number): number {
  const fn = 'labelSkew';
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${fn}: numClasses must be a positive integer, got ${numClasses}`);
  const perClient = parts.map((part, k) => {
    const counts = new Array<number>(numClasses).fill(0);
    for (const i of part) {
      if (!Number.isInteger(i) || i < 0 || i >= labels.length) throw new Error(`${fn}: client ${k} has index ${i} outside [0, ${labels.length})`);
      const l = labels[i] as number;
      if (!(l >= 0 && l < numClasses)) throw new Error(`${fn}: label ${l} at index ${i} is not in [0, ${numClasses})`);
      counts[l] = (counts[l] as number) + 1;
    }
    return counts;
  });
  const global = new Array<number>(numClasses).fill(0);
  let total = 0;
  for (const counts of perClient) {
    for (let c = 0; c < numClasses; c++) global[c] = (global[c] as number) + (counts[c] as number);
    total += counts.reduce((a, b) => a + b, 0);
  }
  if (total === 0) throw new Error(`${fn}: every client is empty`);
  let sum = 0;
  let clients = 0;
  for (const counts of perClient) {
    const n = counts.reduce((a, b) => a + b, 0);
    if (n === 0) continue;
    let tv = 0;
    for (let c = 0; c < numClasses; c++) tv += Math.abs((counts[c] as number) / n - (global[c] as number) / total);
    sum += tv / 2;
    clients++;
  }
  return sum / clients;
}
