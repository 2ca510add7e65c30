/**
 * The fuzz drill's random and malformed inputs, all from one seeded PRNG (`r`), so a failure
 * reproduces: odd values, huge values, valid payloads with one or two faults, garbage updates
 * and event names.
 */
import type { Rng } from '@fedtsa/core/rng';
import type { ManifestEntry } from '@fedtsa/protocol/codec';
import type { Json } from './drill-client.ts';

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)] as T;
export const int = (r: Rng, n: number): number => Math.floor(r.next() * n);
const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '%', '\u0000', '\n', 'é', '中', '😀', '\ud800', '{', '}', '[', ']', ',', ':', '-', '_', '.', '$'];

export function randomString(r: Rng, max = 24): string {
  let s = '';
  for (let i = int(r, max + 1); i > 0; i--) s += pick(r, CHARS);
  return s;
}

/** n seeded random bytes (xorshift32 seeded from `r`: cheap enough for model-sized buffers). */
export function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  const words = new Uint32Array(b.buffer, 0, n >> 2);
  let x = (Math.floor(r.next() * 0xffffffff) | 1) >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < n; i++) b[i] = int(r, 256);
  return b;
}

const ODD_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e308, NaN, Infinity, -Infinity, 5e-324];

/** Any JSON-ish value, with binary attachments; occasionally huge (deep, wide or long). */
export function randomValue(r: Rng, depth = 0): unknown {
  switch (int(r, depth > 2 ? 8 : 11)) {
    case 0: return int(r, 2_000_000) - 1_000_000;
    case 1: return pick(r, ODD_NUMBERS);
    case 2: return randomString(r);
    case 3: return r.next() < 0.5;
    case 4: return null;
    case 5: return undefined;
    case 6: return randomBytes(r, pick(r, [0, 1, 3, 7, 64, 1000]));
    case 7: return pick(r, [{}, [], '', 'null', '[object Object]', { __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { polluted: true } } }]);
    case 8: return Array.from({ length: int(r, 5) }, () => randomValue(r, depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: int(r, 5) }, () => [randomString(r, 8), randomValue(r, depth + 1)]));
    default: return hugeValue(r);
  }
}

function hugeValue(r: Rng): unknown {
  switch (int(r, 4)) {
    case 0: { // deep
      let v: unknown = randomBytes(r, 4);
      for (let i = 200 + int(r, 800); i > 0; i--) v = r.next() < 0.5 ? [v] : { k: v };
      return v;
    }
    case 1: return Object.fromEntries(Array.from({ length: 2000 + int(r, 3000) }, (_, i) => [`k${i}`, i])); // wide
    case 2: return 'x'.repeat(50_000 + int(r, 100_000)); // long
    default: return Array.from({ length: 5000 }, () => int(r, 1000)); // a long array of numbers
  }
}

/** A valid object with one or two faults: a field dropped, replaced by an odd value or by anything; sometimes an extra field. */
export function mutate(r: Rng, valid: Json, alternatives: Record<string, unknown[]>): unknown {
  const out: Json = { ...valid };
  const keys = Object.keys(alternatives);
  for (let faults = 1 + int(r, 2); faults > 0; faults--) {
    const key = pick(r, keys);
    const p = r.next();
    if (p < 0.25) delete out[key];
    else if (p < 0.85) out[key] = pick(r, alternatives[key] as unknown[]);
    else out[key] = randomValue(r);
  }
  if (r.next() < 0.1) out[randomString(r, 6) || 'extra'] = randomValue(r);
  return r.next() < 0.03 ? [out] : out;
}

export function randomCapability(r: Rng): unknown {
  return mutate(r, { samplesPerSec: 500, backend: 'node' }, {
    samplesPerSec: [0, -5, 1e8, NaN, '500', null, 1e7],
    backend: ['gpu', 'webgpu', 'NODE', 1, null, ''],
    memoryGb: [-1, 1e5, 'lots', 8],
    cores: [0, 1.5, 5000, 4, '4'],
    ownDataSamples: [0, 1e9, 0.5, 600],
    label: ['x'.repeat(201), 7, 'ok'],
  });
}

export function randomHeartbeat(r: Rng): unknown {
  return mutate(r, { status: 'idle' }, {
    status: ['sleeping', 'TRAINING', 1, null, 'training', 'paused'],
    round: [-1, 1.5, '2', 3],
    progress: [-0.1, 1.1, NaN, 0.5, '0.5'],
  });
}

export interface UpdateTarget { runId: string; round: number; clusterIndex: number; manifest: ManifestEntry[] }

/**
 * Garbage updates, one fault each, never acceptable: a correct byte length always carries a NaN
 * or values far from the model. Model-sized buffers (`big`) only for the client selected this round.
 */
export function randomUpdate(r: Rng, t: UpdateTarget, big: boolean): unknown {
  const n = t.manifest.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const base = { runId: t.runId, round: t.round, clusterIndex: t.clusterIndex, numSamples: 60, trainLoss: 0.5 };
  const small = () => randomBytes(r, pick(r, [0, 1, 3, 8, 1000]));
  const update = (weights: unknown) => ({ ...base, weights });
  const f = r.next();
  if (f < 0.25) { // a fault in the envelope (small data, so a valid envelope still fails on the length)
    return mutate(r, update({ manifest: t.manifest, dtype: 'float32', data: small() }), {
      runId: ['run-nope', '', 5, 'x'.repeat(65)], round: [t.round - 1, t.round + 1, 0, -1, 1.5, `${t.round}`],
      clusterIndex: [t.clusterIndex + 1, -1, 65, 0.5], numSamples: [0, 1e9, -5, 2.5], trainLoss: ['low', null, '0.5'], weights: [null, 'w', [], {}],
    });
  }
  if (f < 0.4) { // a wrong manifest
    return update({ dtype: 'float32', data: small(), manifest: pick(r, [
      t.manifest.slice(0, -1), [...t.manifest, { name: 'extra', shape: [1] }], t.manifest.map((p, i) => (i === 0 ? { ...p, shape: [...p.shape, 2] } : p)),
      t.manifest.map((p, i) => (i === 1 ? { ...p, name: 'renamed' } : p)), [{ name: 'x', shape: [1e8, 1e8, 1e8, 1e8, 1e8, 1e8, 1e8, 1e8] }],
      Array.from({ length: 1025 }, () => ({ name: 'x', shape: [1] })), [{ name: 'x', shape: [0] }], [{ name: 'x', shape: [-3] }], 'manifest', null, [],
    ]) });
  }
  if (f < 0.5) return update(mutate(r, { manifest: t.manifest, dtype: 'float32', data: small() }, { dtype: ['float64', 'int8', 'float16', null, 7], extra: [1] }));
  if (f < 0.65) return update({ manifest: t.manifest, dtype: 'float32', data: pick(r, [[1, 2, 3], 'AAAA', null, undefined, { 0: 1 }, 42, true, randomValue(r)]) });
  if (!big || f < 0.85) return update({ manifest: t.manifest, dtype: pick(r, ['float32', 'float16']), data: small() }); // the wrong length
  if (f < 0.9) return update({ manifest: t.manifest, dtype: 'float32', data: randomBytes(r, n * 4 + pick(r, [-4, -1, 1, 4])) });
  if (f < 0.95) { // the right length in float32 or float16, random bits with at least one NaN
    const dtype = r.next() < 0.5 ? 'float32' : 'float16';
    const width = dtype === 'float32' ? 4 : 2;
    const data = randomBytes(r, n * width);
    data.set(width === 4 ? [0xff, 0xff, 0xff, 0x7f] : [0xff, 0x7f], width * int(r, n));
    return update({ manifest: t.manifest, dtype, data });
  }
  return update({ manifest: t.manifest, dtype: 'float32', data: new Uint8Array(new Float32Array(n).fill(1e30).buffer) }); // finite, far too far
}

const SERVER_EVENT_NAMES = ['welcome', 'task', 'assignment', 'round-closed', 'run-state', 'refused', 'ping', 'pong', 'message', 'error', 'connection'];
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
/** socket.io-client itself refuses to emit these. */
export const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

export function randomEventName(r: Rng): string {
  const p = r.next();
  if (p < 0.3) return pick(r, SERVER_EVENT_NAMES);
  if (p < 0.45) return pick(r, PROTO_NAMES);
  if (p < 0.5) return pick(r, ['', ' update', 'Update', 'capability\u0000', 'x'.repeat(10_000)]);
  return randomString(r, 16);
}
