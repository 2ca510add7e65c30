import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend.ts';
import { classCounts, type LabelledImages } from '../data/dataset.ts';
import { createRng } from '../rng.ts';
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
