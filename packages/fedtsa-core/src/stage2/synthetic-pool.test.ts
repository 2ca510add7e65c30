import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend.ts';
import { classCounts, type LabelledImages } from '../data/dataset.ts';
import { createRng } from '../rng.ts';
import { ChunkedSource } from './chunked-source.ts';
import { poolChunks } from './pool-plan.ts';
import { MemoryPoolStore, storedChunks } from './pool-store.ts';
import { SyntheticPool } from './synthetic-pool.ts';
import type { SyntheticDataSource } from './synthetic-source.ts';

/** Every pixel of a sample encodes (call, label) as (call * 16 + label) / 1024. */
function countingSource(numClasses = 3, shape: [number, number, number] = [2, 2, 1]) {
  const requests: number[] = [];
  const source: SyntheticDataSource = {
    imageShape: shape,
    numClasses,
    async sample(labels: Uint8Array): Promise<LabelledImages> {
      const call = requests.length;
      requests.push(labels.length);
      const per = shape[0] * shape[1] * shape[2];
      const images = new Float32Array(labels.length * per);
      labels.forEach((l, i) => images.fill((call * 16 + l) / 1024, i * per, (i + 1) * per));
      return { images, labels: labels.slice(), count: labels.length, height: shape[0], width: shape[1], channels: shape[2], numClasses };
    },
  };
  return { source, requests };
}

const decode = (v: number) => ({ call: Math.floor(Math.round(v * 1024) / 16), label: Math.round(v * 1024) % 16 });
const firstPixels = (d: LabelledImages) => Array.from({ length: d.count }, (_, i) => d.images[i * 4] as number);

describe('SyntheticPool', () => {
  beforeAll(async () => useBackend('wasm'));

  it('fills once, then regenerates exactly ceil(fraction * size) slots per refresh', async () => {
    // 0.1 * 30 is 3.0000000000000004 in floating point: a naive ceil would say 4.
    for (const [size, fraction, expected] of [[30, 0.1, 3], [25, 0.3, 8], [10, 1, 10], [10, 0, 0]] as const) {
      const { source, requests } = countingSource();
      const pool = new SyntheticPool(source, { size, refreshFraction: fraction, classBalanced: true });
      expect(pool.filled).toBe(false);
      expect(await pool.refresh(0, 5)).toMatchObject({ generated: size });
      for (let round = 1; round <= 3; round++) expect((await pool.refresh(round, 5)).generated).toBe(expected);
      expect(requests).toEqual(expected > 0 ? [size, expected, expected, expected] : [size]);
    }
  });

  it('overwrites exactly the regenerated slots, keeping each slot label and the class balance', async () => {
    const { source } = countingSource(3);
    const pool = new SyntheticPool(source, { size: 30, refreshFraction: 0.2, classBalanced: true });
    await pool.refresh(0, 1);
    const labels0 = pool.data.labels.slice();
    expect(classCounts(pool.data)).toEqual([10, 10, 10]);
    // Labels are shuffled, not 0,1,2,0,1,2...
    expect(Array.from(labels0)).not.toEqual(Array.from({ length: 30 }, (_, i) => i % 3));
    let before = firstPixels(pool.data);
    for (let round = 1; round <= 4; round++) {
      await pool.refresh(round, 1);
      const after = firstPixels(pool.data);
      const changed = after.map((v, i) => (v !== before[i] ? i : -1)).filter((i) => i >= 0);
      expect(changed.length).toBe(6);
      for (const i of changed) expect(decode(after[i] as number)).toEqual({ call: round, label: labels0[i] });
      expect(pool.data.labels).toEqual(labels0);
      expect(classCounts(pool.data)).toEqual([10, 10, 10]);
      before = after;
    }
  });

  it('balances as evenly as the size allows', async () => {
    const pool = new SyntheticPool(countingSource(4).source, { size: 10, refreshFraction: 0.5 });
    await pool.refresh(0, 3);
    expect(classCounts(pool.data).sort()).toEqual([2, 2, 3, 3]);
  });

  it('is deterministic for the seed', async () => {
    const run = async (seed: number) => {
      const pool = new SyntheticPool(countingSource().source, { size: 24, refreshFraction: 0.25 });
      for (let round = 0; round < 3; round++) await pool.refresh(round, seed);
      return { labels: Array.from(pool.data.labels), pixels: firstPixels(pool.data) };
    };
    expect(await run(7)).toEqual(await run(7));
    expect(await run(7)).not.toEqual(await run(8));
  });

  it('serves batches of distinct rows with matching one-hot labels, without leaking tensors', async () => {
    const pool = new SyntheticPool(countingSource(3).source, { size: 12, refreshFraction: 0.5 });
    await pool.refresh(0, 2);
    // Tag every row with its index in the second pixel (the pool's data is live, not a copy).
    for (let i = 0; i < 12; i++) pool.data.images[i * 4 + 1] = i;
    const rng = createRng(4);
    const start = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) {
      const { x, y } = pool.sampleBatch(12, rng);
      expect(x.shape).toEqual([12, 2, 2, 1]);
      expect(y.shape).toEqual([12, 3]);
      const xs = x.dataSync();
      const ys = y.dataSync();
      const rows = Array.from({ length: 12 }, (_, i) => xs[i * 4 + 1] as number);
      expect(new Set(rows).size).toBe(12);
      for (let i = 0; i < 12; i++) {
        const label = pool.data.labels[rows[i] as number] as number;
        expect(decode(xs[i * 4] as number).label).toBe(label);
        expect(Array.from(ys.subarray(i * 3, i * 3 + 3))).toEqual([0, 1, 2].map((c) => (c === label ? 1 : 0)));
      }
      tf.dispose([x, y]);
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(() => pool.sampleBatch(13, rng)).toThrow(/sampleBatch/);
    expect(() => pool.batch([0, 12])).toThrow(/SyntheticPool.batch/);
  });

  it('rejects bad options and a source that ignores the requested labels', async () => {
    const { source } = countingSource();
    expect(() => new SyntheticPool(source, { size: 0, refreshFraction: 0.1 })).toThrow(/SyntheticPool: size/);
    expect(() => new SyntheticPool(source, { size: 5, refreshFraction: 1.5 })).toThrow(/refreshFraction/);
    expect(() => new SyntheticPool(source, { size: 5, refreshFraction: 0.1 }).data).toThrow(/refresh\(\) first/);
    const liar: SyntheticDataSource = {
      ...source,
      async sample(labels: Uint8Array, seed: number) {
        const out = await source.sample(labels, seed);
        return { ...out, labels: out.labels.map(() => 0) };
      },
    };
    await expect(new SyntheticPool(liar, { size: 6, refreshFraction: 0.5 }).refresh(0, 1)).rejects.toThrow(/source returned label/);
  });
});

describe('SyntheticPool over chunks made ahead of time (ReadyChunkSource)', () => {
  beforeAll(async () => useBackend('wasm'));

  const shape: [number, number, number] = [2, 2, 1];
  /** A drawing source whose chunk (labels, seed) gives pixels seed-dependent values, and the same chunks made ahead into a store. */
  const sampler = async (labels: Uint8Array, seed: number) => Float32Array.from({ length: labels.length * 4 }, (_, i) => ((seed % 1000) + (labels[i >> 2] as number)) / 2000);
  const drawing = new ChunkedSource(shape, 3, sampler);

  it('holds the same pool as a drawing source once every chunk is made, and the chunks are the ones pool-plan names', async () => {
    const plan = { size: 60, refreshFraction: 0.5, numClasses: 3, firstRound: 1, seed: 9 };
    const store = new MemoryPoolStore();
    const generator = { checkpoint: 'abcdef0123456789', steps: 2, guidance: 1 };
    for (let round = 1; round <= 3; round++) {
      for (const c of poolChunks(plan, round)) await store.write(generator, c.labels, c.seed, await sampler(c.labels, c.seed));
    }
    const direct = new SyntheticPool(drawing, { size: 60, refreshFraction: 0.5, firstRound: 1 });
    const stored = new SyntheticPool(storedChunks(store, generator, shape, 3), { size: 60, refreshFraction: 0.5, firstRound: 1 });
    for (let round = 1; round <= 3; round++) {
      await direct.refresh(round, 9);
      expect(await stored.refresh(round, 9)).toMatchObject({ count: 60, round });
      expect(stored.data.images).toEqual(direct.data.images);
      expect(stored.data.labels).toEqual(direct.data.labels);
    }
  });

  it('grows the fill by the chunks that are made, in order, never waiting, and applies a refresh only once all its chunks are made', async () => {
    const plan = { size: 60, refreshFraction: 0.5, numClasses: 3, firstRound: 1, seed: 4 };
    const store = new MemoryPoolStore();
    const generator = { checkpoint: 'abcdef0123456789', steps: 2, guidance: 1 };
    const make = async (round: number, which: number[]) => {
      const chunks = poolChunks(plan, round);
      for (const j of which) await store.write(generator, chunks[j]!.labels, chunks[j]!.seed, await sampler(chunks[j]!.labels, chunks[j]!.seed));
    };
    const pool = new SyntheticPool(storedChunks(store, generator, shape, 3), { size: 60, refreshFraction: 0.5, firstRound: 1 });
    expect(await pool.refresh(1, 4)).toMatchObject({ generated: 0, count: 0, round: 0 });
    expect(() => pool.data).toThrow(/refresh\(\) first/);
    // Chunks 0 and 2 of the fill (25 + 25 + 10): only the leading one counts.
    await make(1, [0, 2]);
    expect(await pool.refresh(1, 4)).toMatchObject({ generated: 25, count: 25, round: 0 });
    expect(pool.data.count).toBe(25);
    expect(pool.filled).toBe(false);
    expect(() => pool.sampleBatch(26, createRng(1))).toThrow(/sampleBatch/);
    await make(1, [1]);
    expect(await pool.refresh(2, 4)).toMatchObject({ generated: 35, count: 60, round: 1 });
    // Round 2's refresh (30 samples: chunks of 25 and 5) half made: not applied; made: applied at round 3, which is caught up to round 2 only.
    await make(2, [1]);
    expect(await pool.refresh(3, 4)).toMatchObject({ generated: 0, round: 1 });
    await make(2, [0]);
    expect(await pool.refresh(3, 4)).toMatchObject({ generated: 30, round: 2 });
    await make(3, [0, 1]);
    expect(await pool.refresh(3, 4)).toMatchObject({ generated: 30, round: 3 });
    const direct = new SyntheticPool(drawing, { size: 60, refreshFraction: 0.5, firstRound: 1 });
    await direct.refresh(3, 4);
    expect(pool.data.images).toEqual(direct.data.images);
  });

  it('catches up skipped rounds: the pool at a round does not depend on which rounds refreshed', async () => {
    const everyRound = new SyntheticPool(drawing, { size: 30, refreshFraction: 0.2, firstRound: 1 });
    for (let round = 1; round <= 4; round++) await everyRound.refresh(round, 2);
    const late = new SyntheticPool(drawing, { size: 30, refreshFraction: 0.2, firstRound: 1 });
    expect(await late.refresh(4, 2)).toMatchObject({ generated: 30 + 3 * 6, round: 4 });
    expect(late.data.images).toEqual(everyRound.data.images);
    await expect(late.refresh(2, 2)).resolves.toMatchObject({ generated: 0, round: 4 });
    await expect(new SyntheticPool(drawing, { size: 30, refreshFraction: 0.2, firstRound: 2 }).refresh(1, 2)).rejects.toThrow(/first round 2/);
  });

  it('refuses a made chunk of the wrong length or with non-finite values', async () => {
    const short = { imageShape: shape, numClasses: 3, readyChunk: async () => new Float32Array(3) } as const;
    await expect(new SyntheticPool(short, { size: 10, refreshFraction: 0 }).refresh(1, 1)).rejects.toThrow(/came back with 3 values/);
    const nan = { imageShape: shape, numClasses: 3, readyChunk: async (l: Uint8Array) => new Float32Array(l.length * 4).fill(NaN) } as const;
    await expect(new SyntheticPool(nan, { size: 10, refreshFraction: 0 }).refresh(1, 1)).rejects.toThrow(/non-finite/);
  });
});
