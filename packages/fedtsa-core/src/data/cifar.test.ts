import { describe, expect, it } from 'vitest';
import { CIFAR10_RECORD_BYTES, parseCifar10Binary } from './cifar.ts';

/** A record whose pixel byte encodes (channel, pixel) so any misplacement is detectable. */
function record(label: number, value: (c: number, p: number) => number): Uint8Array {
  const r = new Uint8Array(CIFAR10_RECORD_BYTES);
  r[0] = label;
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) r[1 + c * 1024 + p] = value(c, p);
  return r;
}

const recs = [
  record(3, (c, p) => (c === 0 ? p % 256 : c === 1 ? 255 - (p % 256) : 17)),
  record(0, (c) => [10, 20, 30][c] as number),
  record(9, (c, p) => (p === 32 * 5 + 7 && c === 2 ? 200 : 0)),
];
const file = new Uint8Array(recs.length * CIFAR10_RECORD_BYTES);
recs.forEach((r, i) => file.set(r, i * CIFAR10_RECORD_BYTES));

/** Pixel (n, y, x, c) of an NHWC 32x32x3 buffer. */
function at(images: Float32Array, n: number, y: number, x: number, c: number): number {
  return images[((n * 32 + y) * 32 + x) * 3 + c] as number;
}

describe('parseCifar10Binary', () => {
  it('reads labels and shape', () => {
    const d = parseCifar10Binary(file);
    expect(d).toMatchObject({ count: 3, height: 32, width: 32, channels: 3, numClasses: 10 });
    expect(Array.from(d.labels)).toEqual([3, 0, 9]);
    expect(d.images.length).toBe(3 * 32 * 32 * 3);
  });

  it('interleaves planar R, G, B into NHWC', () => {
    const d = parseCifar10Binary(file);
    // Record 0, pixel (y=1, x=2) is plane offset 34.
    expect(at(d.images, 0, 1, 2, 0)).toBeCloseTo(34 / 255, 6);
    expect(at(d.images, 0, 1, 2, 1)).toBeCloseTo((255 - 34) / 255, 6);
    expect(at(d.images, 0, 1, 2, 2)).toBeCloseTo(17 / 255, 6);
    // Consecutive values in the buffer are the 3 channels of one pixel.
    expect(Array.from(d.images.subarray(0, 6)).map((v) => Math.round(v * 255))).toEqual([0, 255, 17, 1, 254, 17]);
    // Record 1 is a flat colour.
    for (const [y, x] of [[0, 0], [31, 31], [7, 20]] as const) {
      expect([0, 1, 2].map((c) => Math.round(at(d.images, 1, y, x, c) * 255))).toEqual([10, 20, 30]);
    }
    // Record 2 has exactly one lit value: blue at row 5, column 7.
    expect(at(d.images, 2, 5, 7, 2)).toBeCloseTo(200 / 255, 6);
    const lit = Array.from(d.images.subarray(2 * 3072, 3 * 3072)).filter((v) => v !== 0).length;
    expect(lit).toBe(1);
  });

  it('concatenates several files in order', () => {
    const d = parseCifar10Binary([file.subarray(0, CIFAR10_RECORD_BYTES), file.subarray(CIFAR10_RECORD_BYTES)]);
    expect(d.count).toBe(3);
    expect(Array.from(d.labels)).toEqual([3, 0, 9]);
    expect(d.images).toEqual(parseCifar10Binary(file).images);
  });

  it('rejects truncated files, bad labels and empty lists', () => {
    expect(() => parseCifar10Binary(file.subarray(0, file.length - 1))).toThrow(/not a multiple of the 3073-byte record/);
    const bad = file.slice();
    bad[CIFAR10_RECORD_BYTES] = 10;
    expect(() => parseCifar10Binary(bad)).toThrow(/record 1 has label 10/);
    expect(() => parseCifar10Binary([file, bad])).toThrow(/\(file 1\): record 1/);
    expect(() => parseCifar10Binary([])).toThrow(/at least one/);
  });
});
