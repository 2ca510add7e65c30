/**
 * Weights on the wire: a manifest of named shapes plus one binary buffer (socket.io sends
 * ArrayBuffers and typed arrays as binary attachments, never as JSON numbers).
 */
import { float32ToHalf, halfToFloat32 } from './half.ts';

export type WeightDtype = 'float32' | 'float16';

export interface ManifestEntry {
  name: string;
  shape: number[];
}

export interface EncodedWeights {
  manifest: ManifestEntry[];
  dtype: WeightDtype;
  /** Little-endian float32 or float16 values, manifest order. */
  data: ArrayBuffer | Uint8Array;
}

/** Same names and shapes in the same order. */
export function sameManifest(a: readonly ManifestEntry[], b: readonly ManifestEntry[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i] as ManifestEntry;
    return p.name === q.name && p.shape.length === q.shape.length && p.shape.every((d, j) => d === q.shape[j]);
  });
}

export function manifestSize(manifest: readonly ManifestEntry[]): number {
  return manifest.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

export function encodeWeights(weights: Float32Array, manifest: ManifestEntry[], dtype: WeightDtype = 'float32'): EncodedWeights {
  const n = manifestSize(manifest);
  if (weights.length !== n) throw new Error(`encodeWeights: ${weights.length} values, the manifest needs ${n}`);
  const typed = dtype === 'float16' ? float32ToHalf(weights) : weights;
  // A standalone copy: a view into a larger buffer would send the whole buffer.
  const data = new Uint8Array(typed.byteLength);
  data.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  return { manifest, dtype, data };
}

function bytesOf(data: ArrayBuffer | Uint8Array): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** Decodes to float32; throws (with the numbers) when the byte length does not match the manifest. */
export function decodeWeights(encoded: EncodedWeights): Float32Array {
  const n = manifestSize(encoded.manifest);
  const bytes = bytesOf(encoded.data);
  const width = encoded.dtype === 'float16' ? 2 : 4;
  if (bytes.byteLength !== n * width) {
    throw new Error(`decodeWeights: ${bytes.byteLength} bytes, the manifest needs ${n * width} (${n} ${encoded.dtype} values)`);
  }
  // Copy into aligned memory: a Buffer slice from a socket may start at any byte offset.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  return encoded.dtype === 'float16' ? halfToFloat32(new Uint16Array(aligned.buffer)) : new Float32Array(aligned.buffer);
}

export function encodedByteLength(encoded: EncodedWeights): number {
  return bytesOf(encoded.data).byteLength;
}
