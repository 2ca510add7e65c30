import { describe, expect, it } from 'vitest';
import { cachingSampler, MemoryPoolStore, storedChunks, type GeneratorKey } from './pool-store.ts';

const gen: GeneratorKey = { checkpoint: '0123456789abcdef', steps: 25, guidance: 3 };
const labels = Uint8Array.of(1, 2, 0);

describe('MemoryPoolStore', () => {
  it('keys a chunk by generator, sampling settings, labels and seed, and returns a copy', async () => {
    const store = new MemoryPoolStore();
    const images = Float32Array.from({ length: 12 }, (_, i) => i / 12);
    await store.write(gen, labels, -5, images);
    expect(await store.read(gen, labels, -5, 12)).toEqual(images);
    expect(await store.has(gen, labels, -5, 12)).toBe(true);
    for (const [g, l, s] of [
      [{ ...gen, steps: 10 }, labels, -5], [{ ...gen, guidance: 1 }, labels, -5], [{ ...gen, checkpoint: 'fedcba9876543210' }, labels, -5],
      [gen, Uint8Array.of(1, 2, 1), -5], [gen, labels, 5],
    ] as const) {
      expect(await store.read(g, l, s, 12)).toBeUndefined();
      expect(await store.has(g, l, s, 12)).toBe(false);
    }
    // A chunk of another length than asked for is not trusted.
    expect(await store.read(gen, labels, -5, 16)).toBeUndefined();
    const copy = (await store.read(gen, labels, -5, 12)) as Float32Array;
    copy[0] = 99;
    images[1] = 99;
    expect((await store.read(gen, labels, -5, 12))?.slice(0, 2)).toEqual(Float32Array.of(0, 1 / 12));
  });

  it('refuses keys no store should hold, naming the method', async () => {
    const store = new MemoryPoolStore();
    await expect(store.read({ ...gen, checkpoint: 'not hex' }, labels, 1, 12)).rejects.toThrow(/MemoryPoolStore.read: generator.checkpoint/);
    await expect(store.write({ ...gen, steps: 0 }, labels, 1, new Float32Array(12))).rejects.toThrow(/MemoryPoolStore.write: generator.steps/);
    await expect(store.has({ ...gen, guidance: NaN }, labels, 1, 12)).rejects.toThrow(/generator.guidance/);
    await expect(store.read(gen, new Uint8Array(0), 1, 12)).rejects.toThrow(/labels must be a non-empty/);
    await expect(store.read(gen, labels, 1.5, 12)).rejects.toThrow(/seed must be a 32-bit integer/);
    await expect(store.read(gen, labels, 2 ** 33, 12)).rejects.toThrow(/seed must be a 32-bit integer/);
  });
});

describe('cachingSampler and storedChunks', () => {
  it('draws a chunk once, keeps it, and reads it back after; a stored source never draws', async () => {
    const store = new MemoryPoolStore();
    const draws: number[] = [];
    const draw = async (l: Uint8Array, seed: number) => {
      draws.push(seed);
      return new Float32Array(l.length * 4).fill(seed);
    };
    const counts = { drawn: 0, read: 0 };
    const sample = cachingSampler(store, gen, 4, draw, counts);
    const stored = storedChunks(store, gen, [2, 2, 1], 3);
    expect(await stored.readyChunk(labels, 7)).toBeUndefined();
    expect(await sample(labels, 7)).toEqual(new Float32Array(12).fill(7));
    expect(await sample(labels, 7)).toEqual(new Float32Array(12).fill(7));
    expect(draws).toEqual([7]);
    expect(counts).toEqual({ drawn: 3, read: 3 });
    expect(await stored.readyChunk(labels, 7)).toEqual(new Float32Array(12).fill(7));
    expect(await storedChunks(store, { ...gen, steps: 2 }, [2, 2, 1], 3).readyChunk(labels, 7)).toBeUndefined();
  });
});
