import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GeneratorKey } from '@fedtsa/core/stage2/pool-store';
import { checkpointIdentity, DiskPoolStore } from './pool-store-disk.ts';

const gen: GeneratorKey = { checkpoint: '0123456789abcdef', steps: 25, guidance: 3 };
const labels = Uint8Array.of(3, 1, 4, 1, 5);

describe('DiskPoolStore', () => {
  it('keeps a chunk in the simulation cache layout, so caches made before the store still hit', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fedtsa-pool-'));
    // A chunk written the way apps/simulator's cache wrote it before the store existed.
    const dir = join(root, '0123456789abcdef-s25-g3');
    const file = join(dir, `${createHash('sha256').update(labels).update(String(-12345)).digest('hex').slice(0, 24)}.f32`);
    const images = Float32Array.from({ length: 20 }, (_, i) => i * 0.05);
    const store = new DiskPoolStore(root);
    await store.write(gen, labels, -12345, images);
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
    const again = new DiskPoolStore(root);
    expect(await again.read(gen, labels, -12345, 20)).toEqual(images);
    expect(await again.has(gen, labels, -12345, 20)).toBe(true);
    expect(await again.read({ ...gen, guidance: 1 }, labels, -12345, 20)).toBeUndefined();
    expect(await again.read(gen, labels, -12344, 20)).toBeUndefined();
  });

  it('treats a file of the wrong length (a torn write) as absent', async () => {
    const store = new DiskPoolStore(mkdtempSync(join(tmpdir(), 'fedtsa-pool-')));
    await store.write(gen, labels, 8, new Float32Array(20).fill(0.5));
    writeFileSync(store.fileOf('test', gen, labels, 8), new Uint8Array(40));
    expect(await store.read(gen, labels, 8, 20)).toBeUndefined();
    expect(await store.has(gen, labels, 8, 20)).toBe(false);
  });

  it('refuses bad input with the method named', async () => {
    expect(() => new DiskPoolStore('')).toThrow(/DiskPoolStore: root/);
    const store = new DiskPoolStore(mkdtempSync(join(tmpdir(), 'fedtsa-pool-')));
    await expect(store.write(gen, labels, 1, new Float32Array(7))).rejects.toThrow(/DiskPoolStore.write: images/);
    await expect(store.read({ ...gen, checkpoint: '../../etc' }, labels, 1, 20)).rejects.toThrow(/DiskPoolStore.read: generator.checkpoint/);
    await expect(store.has(gen, labels, NaN, 20)).rejects.toThrow(/DiskPoolStore.has: seed/);
  });

  it('names a generator by its checkpoint bytes', () => {
    const a = checkpointIdentity({ modelJson: '{}', weights: Uint8Array.of(1, 2) });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(checkpointIdentity({ modelJson: '{}', weights: Uint8Array.of(1, 2) })).toBe(a);
    expect(checkpointIdentity({ modelJson: '{}', weights: Uint8Array.of(1, 3) })).not.toBe(a);
  });
});
