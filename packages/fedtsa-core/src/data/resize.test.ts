import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { convertChannels, resizeDataset, resizeImage } from './resize.ts';

/** Oracle for whole-number shrink factors: the plain mean of each block. */
function blockMean(src: Float32Array, h: number, w: number, f: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h / f; y++) {
    for (let x = 0; x < w / f; x++) {
      let s = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += src[(y * f + dy) * w + x * f + dx] as number;
      out.push(s / (f * f));
    }
  }
  return out;
}

describe('resizeImage', () => {
  const rng = createRng(3);
  const img = Float32Array.from({ length: 8 * 12 }, () => rng.next());

  it('shrinks by whole factors to the block means', () => {
    const out = resizeImage(img, 8, 12, 1, 4, 6);
    blockMean(img, 8, 12, 2).forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it('keeps the mean of a fractional shrink and a constant image constant', () => {
    const out = resizeImage(img, 8, 12, 1, 5, 7);
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(img), 1);
    expect(Array.from(resizeImage(new Float32Array(30).fill(0.5), 5, 6, 1, 16, 20)).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
  });

  it('enlarges bilinearly between neighbouring pixels, per channel', () => {
    // A 1x2 RGB image: black then white in red only.
    const out = resizeImage([0, 0.2, 0, 1, 0.2, 0], 1, 2, 3, 1, 4);
    expect(Array.from(out.filter((_, i) => i % 3 === 0)).map((v) => +v.toFixed(3))).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(out.filter((_, i) => i % 3 === 1)).every((v) => Math.abs(v - 0.2) < 1e-6)).toBe(true);
  });

  it('names a bad argument', () => {
    expect(() => resizeImage(img, 8, 8, 1, 4, 4)).toThrow(/96 values is not 8x8x1/);
    expect(() => resizeImage(img, 8, 12, 1, 0, 4)).toThrow(/outH must be a positive integer, got 0/);
  });
});

describe('convertChannels', () => {
  it('drops alpha, makes grey from luma and grey to RGB', () => {
    expect(Array.from(convertChannels([1, 0, 0, 0.5], 4, 3))).toEqual([1, 0, 0]);
    expect(convertChannels([1, 1, 1], 3, 1)[0]).toBeCloseTo(1, 6);
    expect(convertChannels([0, 1, 0], 3, 1)[0]).toBeCloseTo(0.587, 6);
    expect(Array.from(convertChannels([0.25], 1, 3))).toEqual([0.25, 0.25, 0.25]);
  });
});

describe('resizeDataset', () => {
  it('resizes every image and keeps labels', () => {
    const data = { images: new Float32Array(2 * 8 * 8).fill(1), labels: Uint8Array.from([0, 1]), count: 2, height: 8, width: 8, channels: 1, numClasses: 2 };
    const out = resizeDataset(data, 16, 16, 3);
    expect([out.count, out.height, out.width, out.channels, out.images.length]).toEqual([2, 16, 16, 3, 2 * 16 * 16 * 3]);
    expect(out.labels).toEqual(data.labels);
  });
});
