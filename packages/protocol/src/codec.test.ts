import { describe, expect, it } from 'vitest';
import { decodeWeights, encodeWeights, encodedByteLength } from './codec.ts';
import { fromHalf, toHalf } from './half.ts';

const manifest = [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }];

describe('weight codec', () => {
  it('round-trips float32 exactly, as a standalone buffer', () => {
    const big = new Float32Array(20).map((_, i) => i * 0.1 - 1);
    const w = big.subarray(5, 15);
    const enc = encodeWeights(w, manifest);
    expect(encodedByteLength(enc)).toBe(40);
    expect(decodeWeights(enc)).toEqual(w.slice());
  });

  it('halves the bytes with float16, within float16 precision', () => {
    const w = Float32Array.from([0, 1, -2, 0.1, 1e-3, 65504, -3.14159, 2.5e-5, 100, 0.333]);
    const enc = encodeWeights(w, manifest, 'float16');
    expect(encodedByteLength(enc)).toBe(20);
    const back = decodeWeights(enc);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(Math.abs(w[i]!) * 2 ** -11 + 2 ** -24);
  });

  it('decodes from an unaligned Buffer-like view', () => {
    const enc = encodeWeights(Float32Array.from({ length: 10 }, (_, i) => i), manifest);
    const shifted = new Uint8Array(41);
    shifted.set(enc.data as Uint8Array, 1);
    expect(Array.from(decodeWeights({ ...enc, data: shifted.subarray(1) }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses lengths that do not match the manifest', () => {
    expect(() => encodeWeights(new Float32Array(3), manifest)).toThrow(/encodeWeights: 3 values, the manifest needs 10/);
    expect(() => decodeWeights({ manifest, dtype: 'float32', data: new Uint8Array(39) })).toThrow(/39 bytes, the manifest needs 40/);
  });
});

describe('float16', () => {
  it('is exact on representable values and handles the edges', () => {
    for (const v of [0, 1, -1, 0.5, 2048, 65504, 2 ** -14, 2 ** -24, -0.75]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(fromHalf(toHalf(-1e6))).toBe(-Infinity);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(fromHalf(toHalf(1e-9))).toBe(0);
    // round to nearest even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1);
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
  });
});
