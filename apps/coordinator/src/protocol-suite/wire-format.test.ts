import { describe, expect, it } from 'vitest';
// The project's codec is the oracle here only: the independent client never imports it.
import { fromHalf, toHalf } from '@fedtsa/protocol/half';
import { decodeValues, encodeValues, float16Bits, float16Value } from './wire-format.ts';

describe('the independent weight format', () => {
  it('writes the binary16 patterns of IEEE 754, rounding ties to even', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
      [1 / 3, 0x3555], [0.1, 0x2e66], [65519, 0x7bff], [65520, 0x7c00], [-1e6, 0xfc00], [Infinity, 0x7c00],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: to the even mantissa (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: to the even one
      [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], // subnormal ties
    ];
    for (const [value, bits] of cases) expect(float16Bits(value), `${value}`).toBe(bits);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(float16Value(float16Bits(NaN)))).toBe(true);
  });

  it('agrees with the project codec on every half and on random float32 values', () => {
    for (let h = 0; h < 0x10000; h++) {
      const mine = float16Value(h);
      const theirs = fromHalf(h);
      if (Number.isNaN(theirs)) expect(Number.isNaN(mine)).toBe(true);
      else expect(mine, `pattern ${h.toString(16)}`).toBe(theirs);
    }
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    let seed = 12345;
    for (let i = 0; i < 200_000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u32[0] = seed & 0x8fffffff; // every exponent below 2^16, both signs, subnormals included
      const v = f32[0] as number;
      if (!Number.isFinite(v)) continue;
      expect(float16Bits(v), `${v}`).toBe(toHalf(v));
    }
  });

  it('lays values out little-endian in manifest order and checks the length on decode', () => {
    const manifest = [{ name: 'a', shape: [2] }, { name: 'b', shape: [1, 1] }];
    const values = Float32Array.from([1, -2, 0.5]);
    expect([...encodeValues(values, 'float32')]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f]);
    expect([...encodeValues(values, 'float16')]).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
    expect([...decodeValues(encodeValues(values, 'float16'), 'float16', manifest)]).toEqual([1, -2, 0.5]);
    const unaligned = new Uint8Array(13);
    unaligned.set(encodeValues(values, 'float32'), 1);
    expect([...decodeValues(unaligned.subarray(1), 'float32', manifest)]).toEqual([1, -2, 0.5]);
    expect(() => decodeValues(new Uint8Array(8), 'float32', manifest)).toThrow(/8 bytes, the manifest needs 12/);
  });
});
