/**
 * HeteroFL-style nested submodels over flat weight vectors: a width-r model's weights are a
 * fixed subset of the width-1 model's, so extraction is a gather and scattering back is the
 * inverse assignment. Flat layout = the manifest's parameters concatenated, each row-major.
 */
import { keptIndices, modelManifest, parameterCount, type Manifest, type ModelSpec } from './architecture.ts';

const indexCache = new Map<string, Uint32Array>();

/** For each element of the flat width-r vector, its position in the flat width-1 vector. */
export function submodelIndexMap(spec: ModelSpec, widthRatio: number): Uint32Array {
  const key = JSON.stringify([spec, widthRatio]);
  const cached = indexCache.get(key);
  if (cached) return cached;
  const map = indexMapOfKept(spec, keptIndices(spec, widthRatio));
  indexCache.set(key, map);
  return map;
}

/**
 * The flat gather map of any kept-index set (per parameter, per axis, indices into the width-1
 * parameter, as architecture.ts keptIndices gives): the prefix submodels above, and rolling
 * windows (strategy/rolling-window.ts). Walks each parameter's kept indices in row-major order.
 */
export function indexMapOfKept(spec: ModelSpec, kept: readonly (readonly (readonly number[])[])[]): Uint32Array {
  const fullManifest = modelManifest(spec, 1);
  if (kept.length !== fullManifest.length) throw new Error(`indexMapOfKept: ${kept.length} parameters kept, the manifest has ${fullManifest.length}`);
  const size = kept.reduce((sum, axes) => sum + axes.reduce((n, idx) => n * idx.length, 1), 0);
  const map = new Uint32Array(size);
  let out = 0;
  let fullOffset = 0;
  fullManifest.forEach((param, p) => {
    const axes = kept[p] as readonly (readonly number[])[];
    const strides = stridesOf(param.shape);
    // Walk the cartesian product of kept indices in row-major order.
    const walk = (axis: number, base: number): void => {
      const idx = axes[axis] as readonly number[];
      const stride = strides[axis] as number;
      if (axis === axes.length - 1) {
        for (const i of idx) map[out++] = base + i * stride;
        return;
      }
      for (const i of idx) walk(axis + 1, base + i * stride);
    };
    walk(0, fullOffset);
    fullOffset += param.shape.reduce((a, b) => a * b, 1);
  });
  if (out !== map.length) throw new Error(`indexMapOfKept: internal size mismatch ${out} != ${map.length}`);
  return map;
}

function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] as number) * (shape[i + 1] as number);
  return strides;
}

function checkLength(fn: string, arg: string, weights: Float32Array, manifest: Manifest): void {
  const expected = parameterCount(manifest);
  if (weights.length !== expected) {
    throw new Error(`${fn}: ${arg} has ${weights.length} values, the manifest needs ${expected}`);
  }
}

/** The width-r submodel's flat weights, taken out of the width-1 model's. */
export function extractSubmodel(fullWeights: Float32Array, spec: ModelSpec, widthRatio: number): Float32Array {
  checkLength('extractSubmodel', 'fullWeights', fullWeights, modelManifest(spec, 1));
  const map = submodelIndexMap(spec, widthRatio);
  const sub = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) sub[i] = fullWeights[map[i] as number] as number;
  return sub;
}

/** Writes a width-r submodel's weights back into (a copy of) the width-1 model's. */
export function scatterSubmodel(fullWeights: Float32Array, subWeights: Float32Array, spec: ModelSpec, widthRatio: number): Float32Array {
  checkLength('scatterSubmodel', 'fullWeights', fullWeights, modelManifest(spec, 1));
  checkLength('scatterSubmodel', 'subWeights', subWeights, modelManifest(spec, widthRatio));
  const map = submodelIndexMap(spec, widthRatio);
  const out = fullWeights.slice();
  for (let i = 0; i < map.length; i++) out[map[i] as number] = subWeights[i] as number;
  return out;
}

/** Splits a flat vector into per-parameter views (no copies), in manifest order. */
export function splitFlat(weights: Float32Array, manifest: Manifest): Float32Array[] {
  checkLength('splitFlat', 'weights', weights, manifest);
  const views: Float32Array[] = [];
  let offset = 0;
  for (const p of manifest) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    views.push(weights.subarray(offset, offset + n));
    offset += n;
  }
  return views;
}

/** Concatenates per-parameter arrays into one flat vector, checking each against the manifest. */
export function joinFlat(parts: ArrayLike<number>[], manifest: Manifest): Float32Array {
  if (parts.length !== manifest.length) throw new Error(`joinFlat: got ${parts.length} parameters, the manifest has ${manifest.length}`);
  const out = new Float32Array(parameterCount(manifest));
  let offset = 0;
  parts.forEach((part, i) => {
    const p = manifest[i] as Manifest[number];
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (part.length !== n) throw new Error(`joinFlat: parameter ${p.name} has ${part.length} values, expected ${n}`);
    out.set(part, offset);
    offset += n;
  });
  return out;
}
