/**
 * The binary weight format of docs/protocol.md, written from the document alone: one buffer
 * of little-endian float32 or IEEE 754 binary16 values, parameters in manifest order, each
 * parameter row-major (C order, last axis fastest).
 *
 * Independent on purpose: nothing here comes from the project's codec, so the conformance
 * suite checks the coordinator against a second reading of the document, not against itself.
 */

export type WireDtype = 'float32' | 'float16';

export interface WireManifestEntry {
  name: string;
  shape: number[];
}

export function valueCount(manifest: readonly WireManifestEntry[]): number {
  let n = 0;
  for (const p of manifest) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Half the distance between two representable values is a tie: go to the even neighbour. */
function roundHalfToEven(x: number): number {
  const low = Math.floor(x);
  const rest = x - low;
  if (rest > 0.5) return low + 1;
  if (rest < 0.5) return low;
  return low % 2 === 0 ? low : low + 1;
}

/**
 * The binary16 bit pattern nearest to the float32 value `value` (ties to even). Beyond the
 * largest half (65504) values round to +-Infinity from 65520 on; NaN becomes 0x7e00.
 * Arithmetic on doubles is exact here: a float32 has 24 significant bits.
 */
export function float16Bits(value: number): number {
  const v = Math.fround(value);
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a < 2 ** -14) return sign | roundHalfToEven(a * 2 ** 24); // subnormal; 1024 carries into the smallest normal
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // log2 may be off by one near powers of two
  if (2 ** (e + 1) <= a) e += 1;
  let mantissa = roundHalfToEven((a / 2 ** e - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    e += 1;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | mantissa;
}

export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Encodes every value given, whatever a manifest says (attack tests send wrong lengths on purpose). */
export function encodeValues(values: Float32Array, dtype: WireDtype): Uint8Array {
  const width = dtype === 'float16' ? 2 : 4;
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (dtype === 'float16') view.setUint16(i * 2, float16Bits(v), true);
    else view.setFloat32(i * 4, v, true);
  }
  return bytes;
}

/** Decodes a weight buffer; throws, naming both lengths, when it does not hold exactly the manifest's values. */
export function decodeValues(data: ArrayBuffer | Uint8Array, dtype: WireDtype, manifest: readonly WireManifestEntry[]): Float32Array {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const width = dtype === 'float16' ? 2 : 4;
  const n = valueCount(manifest);
  if (bytes.byteLength !== n * width) throw new Error(`decodeValues: ${bytes.byteLength} bytes, the manifest needs ${n * width} (${n} ${dtype})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dtype === 'float16' ? float16Value(view.getUint16(i * 2, true)) : view.getFloat32(i * 4, true);
  return out;
}
