import { describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import { encodeIdx, idxToLabelledImages, parseIdx } from './idx.ts';

function makeIdx(dims: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = type;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

// Two 2x3 images with distinct pixel values so placement errors show.
const pixels = [0, 51, 102, 153, 204, 255, 255, 0, 255, 0, 255, 0];
const imagesFile = makeIdx([2, 2, 3], pixels);
const labelsFile = makeIdx([2], [7, 3]);

describe('parseIdx', () => {
  it('parses a raw ubyte file', () => {
    const { dims, data } = parseIdx(imagesFile);
    expect(dims).toEqual([2, 2, 3]);
    expect(Array.from(data)).toEqual(pixels);
  });

  it('parses a gzipped file identically', () => {
    const gz = gzipSync(imagesFile);
    expect(gz[0]).toBe(0x1f);
    const { dims, data } = parseIdx(gz);
    expect(dims).toEqual([2, 2, 3]);
    expect(Array.from(data)).toEqual(pixels);
  });

  it('handles a byteOffset view and a 1-d file', () => {
    const padded = new Uint8Array(labelsFile.length + 5);
    padded.set(labelsFile, 5);
    const { dims, data } = parseIdx(padded.subarray(5));
    expect(dims).toEqual([2]);
    expect(Array.from(data)).toEqual([7, 3]);
  });

  it('rejects bad magic', () => {
    const bad = imagesFile.slice();
    bad[0] = 0x12;
    expect(() => parseIdx(bad)).toThrow(/parseIdx: bad magic/);
  });

  it('rejects unsupported element types', () => {
    expect(() => parseIdx(makeIdx([2], [1, 2], 0x0d))).toThrow(/unsupported element type 0x0d \(float32\)/);
  });

  it('rejects zero dims', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 0]))).toThrow(/ndims is 0/);
  });

  it('rejects truncated files at every stage', () => {
    expect(() => parseIdx(new Uint8Array([0, 0]))).toThrow(/truncated/);
    expect(() => parseIdx(imagesFile.subarray(0, 10))).toThrow(/truncated, header needs 16/);
    expect(() => parseIdx(imagesFile.subarray(0, imagesFile.length - 1))).toThrow(/truncated, dims \[2, 2, 3\] need 12 data bytes, got 11/);
  });

  it('rejects trailing bytes', () => {
    const long = new Uint8Array(imagesFile.length + 2);
    long.set(imagesFile);
    expect(() => parseIdx(long)).toThrow(/2 unexpected trailing bytes/);
  });

  it('rejects truncated gzip', () => {
    const gz = gzipSync(makeIdx([1000], new Uint8Array(1000).map((_, i) => (i * 37) % 256)));
    expect(() => parseIdx(gz.subarray(0, Math.floor(gz.length / 2)))).toThrow(/parseIdx/);
  });
});

describe('idxToLabelledImages', () => {
  it('scales to [0,1] with one channel', () => {
    const d = idxToLabelledImages(imagesFile, gzipSync(labelsFile));
    expect(d).toMatchObject({ count: 2, height: 2, width: 3, channels: 1, numClasses: 10 });
    expect(Array.from(d.labels)).toEqual([7, 3]);
    expect(d.images).toBeInstanceOf(Float32Array);
    expect(d.images[1]).toBeCloseTo(0.2, 6);
    expect(d.images[5]).toBe(1);
    expect(d.images[7]).toBe(0);
  });

  it('rejects mismatched counts, wrong ranks and out-of-range labels', () => {
    expect(() => idxToLabelledImages(imagesFile, makeIdx([3], [1, 2, 3]))).toThrow(/2 images but 3 labels/);
    expect(() => idxToLabelledImages(labelsFile, labelsFile)).toThrow(/images file must have dims \[n, h, w\] \(greyscale\) or \[n, h, w, 3\]/);
    expect(() => idxToLabelledImages(imagesFile, imagesFile)).toThrow(/labels file must have 1 dim/);
    expect(() => idxToLabelledImages(imagesFile, labelsFile, 5)).toThrow(/idxToLabelledImages: label 7 at index 0/);
  });

  it('reads [n, h, w, 3] as colour and refuses other channel counts', () => {
    const colour = idxToLabelledImages(makeIdx([1, 1, 2, 3], [255, 0, 0, 0, 0, 255]), makeIdx([1], [1]), 2);
    expect([colour.height, colour.width, colour.channels]).toEqual([1, 2, 3]);
    expect(Array.from(colour.images)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(() => idxToLabelledImages(makeIdx([1, 1, 1, 2], [0, 0]), makeIdx([1], [0]), 2)).toThrow(/got \[1, 1, 1, 2\]/);
  });
});

describe('encodeIdx', () => {
  it('writes what parseIdx reads back', () => {
    expect(encodeIdx([2, 2, 3], Uint8Array.from(pixels))).toEqual(imagesFile);
    expect(() => encodeIdx([2, 2], Uint8Array.from(pixels))).toThrow(/need 4 bytes, got 12/);
  });
});
