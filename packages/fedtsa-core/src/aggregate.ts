/**
 * Server-side averaging. Stage 1 of FedTSA is sample-weighted FedAvg inside a cluster (all
 * updates have one shape); the HeteroFL baseline averages nested submodels element by element
 * over the clients that hold each element.
 */
import type { ModelSpec } from './architecture.ts';
import { submodelIndexMap } from './submodel.ts';

export interface WeightedUpdate {
  weights: Float32Array;
  /** Local training samples behind this update; the averaging weight. */
  numSamples: number;
}

function checkSamples(fn: string, updates: readonly { numSamples: number }[]): number {
  if (updates.length === 0) throw new Error(`${fn}: updates must not be empty`);
  let total = 0;
  updates.forEach((u, i) => {
    if (!(Number.isFinite(u.numSamples) && u.numSamples > 0)) {
      throw new Error(`${fn}: updates[${i}].numSamples must be a positive number, got ${u.numSamples}`);
    }
    total += u.numSamples;
  });
  return total;
}

/** Sample-weighted mean of same-length weight vectors (accumulated in float64). */
export function fedAvg(updates: readonly WeightedUpdate[]): Float32Array {
  const total = checkSamples('fedAvg', updates);
  const n = (updates[0] as WeightedUpdate).weights.length;
  const acc = new Float64Array(n);
  updates.forEach((u, i) => {
    if (u.weights.length !== n) throw new Error(`fedAvg: updates[${i}] has ${u.weights.length} values, updates[0] has ${n}`);
    const a = u.numSamples / total;
    const w = u.weights;
    for (let j = 0; j < n; j++) acc[j] += a * (w[j] as number);
  });
  return Float32Array.from(acc);
}

export interface SubmodelUpdate extends WeightedUpdate {
  widthRatio: number;
}

/**
 * HeteroFL overlap averaging: each element of the width-1 model becomes the sample-weighted
 * mean of the updates whose submodel contains it; elements nobody trained keep their value.
 */
export function heteroflAggregate(global: Float32Array, updates: readonly SubmodelUpdate[], spec: ModelSpec): Float32Array {
  checkSamples('heteroflAggregate', updates);
  const sum = new Float64Array(global.length);
  const weight = new Float64Array(global.length);
  updates.forEach((u, i) => {
    const map = submodelIndexMap(spec, u.widthRatio);
    if (u.weights.length !== map.length) {
      throw new Error(`heteroflAggregate: updates[${i}] has ${u.weights.length} values, width ${u.widthRatio} needs ${map.length}`);
    }
    for (let j = 0; j < map.length; j++) {
      const g = map[j] as number;
      sum[g] += u.numSamples * (u.weights[j] as number);
      weight[g] += u.numSamples;
    }
  });
  const out = global.slice();
  for (let g = 0; g < out.length; g++) if ((weight[g] as number) > 0) out[g] = (sum[g] as number) / (weight[g] as number);
  return out;
}
