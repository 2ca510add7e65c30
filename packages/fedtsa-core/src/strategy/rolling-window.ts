/**
 * FedRolex's rolling submodels (Alam et al., "FedRolex: Model-Heterogeneous Federated Learning
 * with Rolling Sub-Model Extraction", NeurIPS 2022, eq. 3): in round r a width-b client of a
 * layer with K channels gets the ceil(b*K) channels starting at r mod K, wrapping past the end,
 * instead of HeteroFL's fixed first ones. Every layer's window starts at its own r mod K, so
 * all widths start at the same channel and a narrower window nests in a wider one.
 *
 * The window is returned sorted: the submodel's channel j is the j-th smallest kept channel.
 * The paper defines a set; any fixed order gives the same function, and sorted makes width 1
 * the identity (the reference code keeps the rolled order, torch.roll(arange(K), r)[:n], and
 * rolls backwards; both are one channel per round).
 */
import { modelManifest, scaledSize, type ModelSpec } from '../architecture.ts';
import { indexMapOfKept } from '../submodel.ts';

/** The channels of a K-channel layer a width-r client holds in round `round` (0-based), ascending. */
export function rollingChannels(size: number, widthRatio: number, round: number): number[] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`rollingChannels: size must be a positive integer, got ${size}`);
  if (!Number.isInteger(round) || round < 0) throw new Error(`rollingChannels: round must be a non-negative integer, got ${round}`);
  const n = scaledSize(size, widthRatio);
  const start = round % size;
  return Array.from({ length: n }, (_, i) => (start + i) % size).sort((a, b) => a - b);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Per parameter, per axis, the width-1 indices the round's window keeps (architecture.ts keptIndices's layout). */
export function rollingKeptIndices(spec: ModelSpec, widthRatio: number, round: number): number[][][] {
  const m = modelManifest(spec, 1).map((p) => p.shape);
  // conv1 [3,3,c,f1], conv2 [3,3,f1,f2], fc1 [flatHw*f2, hidden], logits [hidden, k]
  const [c, f1] = [m[0]![2]!, m[0]![3]!];
  const f2 = m[2]![3]!;
  const [hidden, k] = [m[6]![0]!, m[6]![1]!];
  const flatHw = m[4]![0]! / f2;
  const ch1 = rollingChannels(f1, widthRatio, round);
  const ch2 = rollingChannels(f2, widthRatio, round);
  const units = rollingChannels(hidden, widthRatio, round);
  // Flatten interleaves channels (NHWC): fc1's input row of (position p, channel ch) is p*f2+ch.
  const flatKept: number[] = [];
  for (let p = 0; p < flatHw; p++) for (const ch of ch2) flatKept.push(p * f2 + ch);
  return [
    [range(3), range(3), range(c), ch1],
    [ch1],
    [range(3), range(3), ch1, ch2],
    [ch2],
    [flatKept, units],
    [units],
    [units, range(k)],
    [range(k)],
  ];
}

const mapCache = new Map<string, Uint32Array>();

/** For each element of the round's flat width-r vector, its position in the flat width-1 vector. */
export function rollingIndexMap(spec: ModelSpec, widthRatio: number, round: number): Uint32Array {
  const key = JSON.stringify([spec, widthRatio, round]);
  let map = mapCache.get(key);
  if (!map) {
    map = indexMapOfKept(spec, rollingKeptIndices(spec, widthRatio, round));
    // Windows repeat with period lcm of the layer sizes; a long run would otherwise keep one per round.
    if (mapCache.size > 512) mapCache.clear();
    mapCache.set(key, map);
  }
  return map;
}

/** The flat submodel a gather map selects from the width-1 weights. */
export function gatherByMap(fullWeights: Float32Array, map: Uint32Array): Float32Array {
  const sub = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) sub[i] = fullWeights[map[i] as number] as number;
  return sub;
}

export interface MappedUpdate {
  weights: Float32Array;
  numSamples: number;
  /** Where each of `weights` sits in the width-1 vector. */
  map: Uint32Array;
}

/**
 * Each width-1 parameter becomes the sample-weighted mean of the updates that hold it; one no
 * update holds keeps its value (HeteroFL's rule, aggregate.ts heteroflAggregate, for any maps).
 */
export function aggregateByHolders(global: Float32Array, updates: readonly MappedUpdate[]): Float32Array {
  const sum = new Float64Array(global.length);
  const weight = new Float64Array(global.length);
  updates.forEach((u, i) => {
    if (u.weights.length !== u.map.length) throw new Error(`aggregateByHolders: updates[${i}] has ${u.weights.length} values, its map ${u.map.length}`);
    if (!(u.numSamples > 0)) throw new Error(`aggregateByHolders: updates[${i}].numSamples must be positive, got ${u.numSamples}`);
    for (let j = 0; j < u.map.length; j++) {
      const g = u.map[j] as number;
      sum[g] += u.numSamples * (u.weights[j] as number);
      weight[g] += u.numSamples;
    }
  });
  const out = global.slice();
  for (let g = 0; g < out.length; g++) if ((weight[g] as number) > 0) out[g] = (sum[g] as number) / (weight[g] as number);
  return out;
}
