/**
 * Seeded pseudo-random numbers. Every algorithm in fedtsa-core takes an `Rng` instead of
 * calling Math.random, so a run is reproducible from its seed.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

/** mulberry32: tiny, fast, good enough for sampling and shuffling (not for cryptography). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Derives an independent stream from a parent seed and a label (e.g. a client index). */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = (Math.floor(seed) ^ 0x85ebca6b) >>> 0;
  for (const label of labels) {
    h = Math.imul(h ^ (label + 0x9e3779b9), 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h;
}

/** Integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** Standard normal by Box-Muller. */
export function randomNormal(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) by Marsaglia-Tsang, with the shape < 1 boost. */
export function randomGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new Error(`randomGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.next();
    return randomGamma(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = randomNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A sample from Dirichlet(alpha, ..., alpha) over k categories. */
export function randomDirichlet(rng: Rng, alpha: number, k: number): number[] {
  const g = Array.from({ length: k }, () => randomGamma(rng, alpha));
  const sum = g.reduce((a, b) => a + b, 0);
  return g.map((x) => x / sum);
}

/** Fisher-Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
