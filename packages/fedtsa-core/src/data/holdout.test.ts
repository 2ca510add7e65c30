import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../rng.ts';
import { holdoutSplit, STANDARD_HOLDOUT, testHoldout } from './holdout.ts';
import { splitHoldout } from './partition.ts';

/** FNV-1a over the row numbers: core code has no node:crypto, and a fingerprint is all this needs. */
function digest(rows: number[]): string {
  let h = 0x811c9dc5;
  for (const r of rows) {
    h = Math.imul(h ^ (r & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (r >>> 16), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

describe('holdoutSplit', () => {
  it('reproduces the sample-count split of Fashion-MNIST (10,000 public, 5,000 validation of 60,000) row for row', () => {
    const split = holdoutSplit(60_000, STANDARD_HOLDOUT);
    // The call the sample-count version made (publicPoolSamples / trainCount), as an oracle.
    const before = splitHoldout(60_000, { publicPool: 10_000 / 60_000, validation: 5_000 / 60_000 }, createRng(deriveSeed(1, 1)));
    expect(split).toEqual(before);
    expect([split.publicPool.length, split.validation.length, split.clientPool.length]).toEqual([10_000, 5_000, 45_000]);
    // Fingerprints of the rows of the sample-count version at f0b51af (its sha256 digests de0070556fb8536a,
    // 42bc07945b39392e, 9e6a369c7a1acaa2 were compared with this version's before the change).
    expect(digest(split.publicPool)).toBe('876ffeb4');
    expect(digest(split.validation)).toBe('b6899932');
    expect(digest(split.clientPool)).toBe('13b45143');
    expect(split.publicPool.slice(0, 5)).toEqual([4, 14, 30, 41, 47]);
  });

  it('scales the same fractions to a small dataset', () => {
    const split = holdoutSplit(3_000, STANDARD_HOLDOUT);
    expect([split.publicPool.length, split.validation.length, split.clientPool.length]).toEqual([500, 250, 2_250]);
  });
});

describe('testHoldout', () => {
  it('takes a disjoint, reproducible share of the rows as the test set', () => {
    const a = testHoldout(1_000, 0.2);
    expect(a.test).toHaveLength(200);
    expect(a.rest).toHaveLength(800);
    expect(new Set([...a.test, ...a.rest]).size).toBe(1_000);
    expect(testHoldout(1_000, 0.2)).toEqual(a);
    expect(testHoldout(1_000, 0.2, 2).test).not.toEqual(a.test);
  });
});
