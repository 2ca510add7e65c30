import { describe, expect, it } from 'vitest';
import { keptIndices, modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { splitFlat, submodelIndexMap } from '../submodel.ts';
import { FedrolexStrategy } from './fedrolex.ts';
import { aggregateByHolders, gatherByMap, rollingChannels, rollingIndexMap } from './rolling-window.ts';
import type { ClusterPlan } from './types.ts';

// conv1 4, conv2 4, fc1 6 units, 3 classes; flatten 2*2*4 = 16 rows.
const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 6 };
const fullCount = parameterCount(modelManifest(spec, 1));
const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 0.5);

describe('rolling windows', () => {
  it('rolls one channel per round and wraps (4 channels, width 1/2)', () => {
    const rounds = [0, 1, 2, 3, 4, 5].map((r) => rollingChannels(4, 0.5, r));
    expect(rounds).toEqual([[0, 1], [1, 2], [2, 3], [0, 3], [0, 1], [1, 2]]);
    // 6 units at width 1/2 keep 3; round 5 starts at 5 and wraps to 0, 1
    expect(rollingChannels(6, 0.5, 5)).toEqual([0, 1, 5]);
    expect(rollingChannels(6, 1, 4)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('round 0 is HeteroFL\'s prefix; width 1 is the identity in every round', () => {
    expect(rollingIndexMap(spec, 0.5, 0)).toEqual(submodelIndexMap(spec, 0.5));
    for (const r of [1, 3, 7]) expect(rollingIndexMap(spec, 1, r)).toEqual(submodelIndexMap(spec, 1));
  });

  it('gathers the hand-computed elements in a wrapped round (round 3, width 1/2)', () => {
    const full = ramp(fullCount);
    const fullParts = splitFlat(full, modelManifest(spec, 1));
    const sub = splitFlat(gatherByMap(full, rollingIndexMap(spec, 0.5, 3)), modelManifest(spec, 0.5));
    // conv1: channels {0, 3}; bias [4] -> [b0, b3]; kernel [3,3,1,4] first pixel -> [k0, k3]
    expect(Array.from(sub[1]!)).toEqual([fullParts[1]![0], fullParts[1]![3]]);
    expect(Array.from(sub[0]!.subarray(0, 2))).toEqual([fullParts[0]![0], fullParts[0]![3]]);
    // conv2 kernel [3,3,4,4] -> [3,3,2,2]: (in 3, out 0) of the first pixel is element 3*4+0 = 12
    expect(sub[2]![1 * 2 + 0]).toBe(fullParts[2]![12]);
    // fc1 [16, 6] -> [8, 3], units {3, 4, 5}: sub row (pos 1, ch 3) is 1*2+1, full row 1*4+3 = 7
    expect(sub[4]![(1 * 2 + 1) * 3 + 0]).toBe(fullParts[4]![7 * 6 + 3]);
    expect(sub[4]![(1 * 2 + 1) * 3 + 2]).toBe(fullParts[4]![7 * 6 + 5]);
    // logits [6, 3] -> [3, 3]: unit rows 3..5, every class
    expect(Array.from(sub[6]!)).toEqual(Array.from(fullParts[6]!.subarray(3 * 3, 6 * 3)));
    expect(Array.from(sub[7]!)).toEqual(Array.from(fullParts[7]!));
  });

  it('a narrower window nests in a wider one of the same round', () => {
    for (const r of [0, 2, 3, 13]) {
      const wide = new Set(rollingIndexMap(spec, 0.5, r));
      for (const g of rollingIndexMap(spec, 0.25, r)) expect(wide.has(g)).toBe(true);
    }
  });
});

describe('aggregation over holders', () => {
  it('averages each parameter over the updates that hold it, by samples, and leaves the rest', () => {
    const global = ramp(fullCount);
    const a = { map: rollingIndexMap(spec, 0.5, 3), numSamples: 1 };
    const b = { map: rollingIndexMap(spec, 0.25, 3), numSamples: 3 };
    const out = aggregateByHolders(global, [
      { ...a, weights: new Float32Array(a.map.length).fill(1) },
      { ...b, weights: new Float32Array(b.map.length).fill(5) },
    ]);
    const parts = splitFlat(out, modelManifest(spec, 1));
    const before = splitFlat(global, modelManifest(spec, 1));
    // conv1 bias: width 1/4 of 4 channels keeps 1 (channel 3), width 1/2 keeps {0, 3}; channels 1, 2 held by none
    expect(parts[1]![3]).toBe((1 * 1 + 3 * 5) / 4);
    expect(parts[1]![0]).toBe(1);
    expect(parts[1]![1]).toBe(before[1]![1]);
    expect(parts[1]![2]).toBe(before[1]![2]);
    // logits bias: held by both
    for (const v of parts[7]!) expect(v).toBe(4);
    // fc1 units: width 1/2 holds {3,4,5}, width 1/4 (2 of 6) holds {3,4}; unit 0 by none
    expect(parts[5]!.slice()).toEqual(Float32Array.from([before[5]![0]!, before[5]![1]!, before[5]![2]!, 4, 4, 1]));
  });
});

describe('FedrolexStrategy', () => {
  const clusters: ClusterPlan[] = [
    { index: 0, widthRatio: 0.5, memberIds: ['a', 'b'] },
    { index: 1, widthRatio: 1, memberIds: ['c'] },
  ];

  it('hands out the rolled window each round and moves only the window it received', () => {
    const initial = ramp(fullCount);
    const s = new FedrolexStrategy({ spec, clusters, initialWeights: initial });
    expect(s.tasks(['a'])[0]!.weights).toEqual(gatherByMap(initial, submodelIndexMap(spec, 0.5)));
    s.adopt(s.stage1([])); // round 0 with no updates: nothing moves, the window rolls
    const [task] = s.tasks(['a']);
    const map = rollingIndexMap(spec, 0.5, 1);
    expect(task!.weights).toEqual(gatherByMap(initial, map));
    const proposed = s.stage1([{ clientId: 'a', clusterIndex: 0, widthRatio: 0.5, weights: task!.weights.map((v) => v + 1), numSamples: 10 }]);
    s.adopt(proposed);
    const global = s.clusterModels()[1]!.weights; // width 1: the global model itself
    const held = new Set(map);
    for (let g = 0; g < fullCount; g++) expect(global[g]).toBe(held.has(g) ? initial[g]! + 1 : initial[g]);
    // the prefix is not what round 1 trained: conv1 channel 0 is outside {1, 2}
    expect(keptIndices(spec, 0.5)[1]).toEqual([[0, 1]]);
    expect(global[36]).toBe(initial[36]);
    expect(s.windowRound).toBe(2);
    // Evaluated: the window round 1 trained (what the cluster's devices use), not round 2's about to roll in.
    expect(s.evaluatedModels()[0]!.weights).toEqual(gatherByMap(global, map));
    expect(s.clusterModels()[0]!.weights).toEqual(gatherByMap(global, rollingIndexMap(spec, 0.5, 2)));
    expect(s.evaluatedModels()[0]!.weights).not.toEqual(s.clusterModels()[0]!.weights);
  });

  it('a rolled-back round leaves the global model but still rolls', () => {
    const initial = ramp(fullCount);
    const s = new FedrolexStrategy({ spec, clusters, initialWeights: initial });
    const start = s.clusterModels();
    const task = s.tasks(['c'])[0]!;
    s.stage1([{ clientId: 'c', clusterIndex: 1, widthRatio: 1, weights: task.weights.map((v) => v * 2), numSamples: 5 }]);
    s.adopt(start);
    expect(s.clusterModels()[1]!.weights).toEqual(initial);
    expect(s.windowRound).toBe(1);
  });
});
