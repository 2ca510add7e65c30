import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { labelSkew, partitionDirichlet, partitionIid, splitHoldout } from './partition.ts';

/** Balanced labels 0..numClasses-1 repeated. */
function balancedLabels(n: number, numClasses = 10): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % numClasses);
}

function expectExactCover(parts: number[][], n: number): void {
  const all = parts.flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

const labels = balancedLabels(2000);

describe('partitionIid', () => {
  it('covers every index exactly once in near-equal parts', () => {
    const parts = partitionIid(balancedLabels(1003), 10, createRng(1));
    expectExactCover(parts, 1003);
    const sizes = parts.map((p) => p.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is reproducible and has low skew', () => {
    expect(partitionIid(labels, 10, createRng(5))).toEqual(partitionIid(labels, 10, createRng(5)));
    expect(partitionIid(labels, 10, createRng(5))).not.toEqual(partitionIid(labels, 10, createRng(6)));
    expect(labelSkew(partitionIid(labels, 10, createRng(5)), labels, 10)).toBeLessThan(0.15);
  });

  it('rejects bad client counts', () => {
    expect(() => partitionIid(labels, 0, createRng(1))).toThrow(/partitionIid: numClients/);
    expect(() => partitionIid(labels, 2.5, createRng(1))).toThrow(/partitionIid/);
    expect(() => partitionIid(balancedLabels(3), 4, createRng(1))).toThrow(/4 clients but only 3 samples/);
  });
});

describe('partitionDirichlet', () => {
  it('covers every index exactly once and respects minPerClient', () => {
    for (const alpha of [100, 1, 0.1]) {
      const parts = partitionDirichlet(labels, 10, alpha, createRng(3), { minPerClient: 20 });
      expect(parts).toHaveLength(10);
      expectExactCover(parts, labels.length);
      for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(20);
    }
  });

  it('is reproducible from the seed', () => {
    const a = partitionDirichlet(labels, 8, 0.5, createRng(42));
    expect(partitionDirichlet(labels, 8, 0.5, createRng(42))).toEqual(a);
    expect(partitionDirichlet(labels, 8, 0.5, createRng(43))).not.toEqual(a);
  });

  it('gets more skewed as alpha falls', () => {
    const meanSkew = (alpha: number): number => {
      const seeds = [1, 2, 3, 4, 5];
      return seeds.reduce((s, seed) => s + labelSkew(partitionDirichlet(labels, 10, alpha, createRng(seed)), labels, 10), 0) / seeds.length;
    };
    const [s100, s1, s01] = [meanSkew(100), meanSkew(1), meanSkew(0.1)];
    expect(s100).toBeLessThan(0.15);
    expect(s1).toBeGreaterThan(s100 + 0.1);
    expect(s01).toBeGreaterThan(s1 + 0.1);
  });

  it('handles classes that are absent', () => {
    const sparse = Uint8Array.from({ length: 300 }, (_, i) => (i % 3) * 4); // classes 0, 4, 8 only
    expectExactCover(partitionDirichlet(sparse, 5, 1, createRng(9)), 300);
  });

  it('rejects bad arguments and impossible constraints', () => {
    const rng = createRng(1);
    expect(() => partitionDirichlet(labels, 0, 1, rng)).toThrow(/partitionDirichlet: numClients/);
    expect(() => partitionDirichlet(labels, 10, 0, rng)).toThrow(/alpha must be/);
    expect(() => partitionDirichlet(labels, 10, Number.NaN, rng)).toThrow(/alpha must be/);
    expect(() => partitionDirichlet(labels, 10, 1, rng, { minPerClient: -1 })).toThrow(/minPerClient/);
    expect(() => partitionDirichlet(labels, 10, 1, rng, { minPerClient: 201 })).toThrow(/exceeds the 2000 samples/);
    expect(() => partitionDirichlet(labels, 10, 0.01, rng, { minPerClient: 150, maxTries: 3 })).toThrow(/in 3 tries/);
  });
});

describe('splitHoldout', () => {
  it('gives disjoint sorted splits that cover everything', () => {
    const s = splitHoldout(1000, { publicPool: 0.2, validation: 0.1 }, createRng(7));
    expect(s.publicPool).toHaveLength(200);
    expect(s.validation).toHaveLength(100);
    expect(s.clientPool).toHaveLength(700);
    expectExactCover([s.clientPool, s.publicPool, s.validation], 1000);
    for (const list of [s.clientPool, s.publicPool, s.validation]) expect(list).toEqual([...list].sort((a, b) => a - b));
  });

  it('is reproducible and allows empty holdouts', () => {
    const f = { publicPool: 0.3, validation: 0.05 };
    expect(splitHoldout(500, f, createRng(1))).toEqual(splitHoldout(500, f, createRng(1)));
    const none = splitHoldout(50, { publicPool: 0, validation: 0 }, createRng(1));
    expect(none.clientPool).toHaveLength(50);
    expect(none.publicPool).toEqual([]);
  });

  it('rejects bad arguments', () => {
    const rng = createRng(1);
    expect(() => splitHoldout(0, { publicPool: 0.1, validation: 0.1 }, rng)).toThrow(/splitHoldout: count/);
    expect(() => splitHoldout(100, { publicPool: -0.1, validation: 0.1 }, rng)).toThrow(/publicPool must be in/);
    expect(() => splitHoldout(100, { publicPool: 0.1, validation: 1 }, rng)).toThrow(/validation must be in/);
    expect(() => splitHoldout(100, { publicPool: 0.6, validation: 0.4 }, rng)).toThrow(/leaves nothing/);
    expect(() => splitHoldout(2, { publicPool: 0.4, validation: 0.4 }, rng)).toThrow(/leaves nothing for clients/);
  });
});

describe('labelSkew', () => {
  it('is 0 for identical mixes and 1 - 1/C for one class per client', () => {
    const l = balancedLabels(40, 4);
    // Blocks of 8 consecutive indices hold each class exactly twice.
    const mixed = [0, 1, 2, 3].map((k) => Array.from({ length: 8 }, (_, j) => k * 8 + j));
    expect(labelSkew(mixed, l, 4)).toBeCloseTo(0, 12);
    const pure = [0, 1, 2, 3].map((c) => Array.from({ length: 10 }, (_, j) => j * 4 + c));
    expect(labelSkew(pure, l, 4)).toBeCloseTo(0.75, 12);
  });

  it('skips empty clients and rejects bad input', () => {
    const l = balancedLabels(8, 2);
    expect(labelSkew([[0, 1], [], [2, 3]], l, 2)).toBeCloseTo(0, 12);
    expect(() => labelSkew([[], []], l, 2)).toThrow(/every client is empty/);
    expect(() => labelSkew([[8]], l, 2)).toThrow(/labelSkew: client 0 has index 8/);
    expect(() => labelSkew([[1]], l, 1)).toThrow(/label 1 at index 1/);
  });
});
