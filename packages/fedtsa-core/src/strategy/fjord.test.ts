import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { extractSubmodel, splitFlat, submodelIndexMap } from '../submodel.ts';
import { FjordStrategy, fjordWidths } from './fjord.ts';
import type { ClusterPlan } from './types.ts';

// conv1 8, conv2 8, fc1 16 units: every ladder rung keeps a distinct number of channels (1, 2, 4, 8 and 2, 4, 8, 16).
const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 8, conv2Filters: 8, hiddenUnits: 16 };
const fullCount = parameterCount(modelManifest(spec, 1));
const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 0.5);
const LADDER = [0.125, 0.25, 0.5, 1];

/** The leading block of a row-major array of shape `big` with shape `small` (the obvious nested loops). */
function leadingBlock(values: Float32Array, big: number[], small: number[]): number[] {
  const out: number[] = [];
  const visit = (axis: number, offset: number): void => {
    if (axis === big.length) { out.push(values[offset]!); return; }
    const stride = big.slice(axis + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < small[axis]!; i++) visit(axis + 1, offset + i * stride);
  };
  visit(0, 0);
  return out;
}

describe('FjORD ordered dropout', () => {
  it('the rungs a cluster trains are the ladder up to its width', () => {
    expect(fjordWidths(1)).toEqual(LADDER);
    expect(fjordWidths(0.25)).toEqual([0.125, 0.25]);
    expect(fjordWidths(0.125)).toEqual([0.125]);
    expect(() => fjordWidths(0.1)).toThrow(/fjordWidths/);
  });

  it('nests: every parameter of a p-submodel is the leading block of the same parameter of every wider one', () => {
    const full = ramp(fullCount);
    for (const [i, p] of LADDER.entries()) {
      const small = splitFlat(extractSubmodel(full, spec, p), modelManifest(spec, p));
      for (const q of LADDER.slice(i + 1)) {
        const bigManifest = modelManifest(spec, q);
        const big = splitFlat(extractSubmodel(full, spec, q), bigManifest);
        modelManifest(spec, p).forEach((param, k) => {
          const bigShape = bigManifest[k]!.shape;
          if (param.name === 'fc1/kernel') {
            // Flatten interleaves channels (NHWC): at each of the 2x2 positions the p-model keeps its first channels.
            const smallF2 = modelManifest(spec, p)[3]!.shape[0]!;
            const bigF2 = bigManifest[3]!.shape[0]!;
            const rows = [0, 1, 2, 3].flatMap((pos) => Array.from({ length: smallF2 }, (_, ch) => pos * bigF2 + ch));
            const hidden = param.shape[1]!;
            const expected = rows.flatMap((r) => Array.from(big[k]!.subarray(r * bigShape[1]!, r * bigShape[1]! + hidden)));
            expect(Array.from(small[k]!)).toEqual(expected);
          } else {
            expect(Array.from(small[k]!)).toEqual(leadingBlock(big[k]!, bigShape, param.shape));
          }
        });
      }
    }
  });

  const clusters: ClusterPlan[] = [
    { index: 0, widthRatio: 0.25, memberIds: ['a', 'b'] },
    { index: 1, widthRatio: 1, memberIds: ['c', 'd'] },
  ];

  it('draws one rung per cluster per round, up to its width, and over rounds every rung', () => {
    const s = new FjordStrategy({ spec, clusters, initialWeights: ramp(fullCount), seed: 7 });
    const seen = [new Set<number>(), new Set<number>()];
    for (let round = 0; round < 40; round++) {
      const tasks = s.tasks(['a', 'b', 'c', 'd']);
      expect(tasks[0]!.widthRatio).toBe(tasks[1]!.widthRatio);
      expect(tasks[0]!.weights).toBe(tasks[1]!.weights); // one model sent per cluster (round/close.ts screens against it)
      expect(tasks[2]!.widthRatio).toBe(tasks[3]!.widthRatio);
      for (const t of tasks) {
        expect(fjordWidths(clusters[t.clusterIndex]!.widthRatio)).toContain(t.widthRatio);
        expect(t.weights.length).toBe(parameterCount(modelManifest(spec, t.widthRatio)));
        seen[t.clusterIndex]!.add(t.widthRatio);
      }
      s.adopt(s.stage1([]));
    }
    expect([...seen[0]!].sort((x, y) => x - y)).toEqual([0.125, 0.25]);
    expect([...seen[1]!].sort((x, y) => x - y)).toEqual(LADDER);
    // same seed, same draws
    const again = new FjordStrategy({ spec, clusters, initialWeights: ramp(fullCount), seed: 7 });
    const first = new FjordStrategy({ spec, clusters, initialWeights: ramp(fullCount), seed: 7 });
    expect(again.tasks(['a', 'c']).map((t) => t.widthRatio)).toEqual(first.tasks(['a', 'c']).map((t) => t.widthRatio));
    expect(() => new FjordStrategy({ spec, clusters, initialWeights: ramp(fullCount) })).toThrow(/needs a seed/);
  });

  it('an update moves only the prefix it trained; clusters are served their width', () => {
    const initial = ramp(fullCount);
    const s = new FjordStrategy({ spec, clusters, initialWeights: initial, seed: 3 });
    const task = s.tasks(['c'])[0]!;
    s.adopt(s.stage1([{ clientId: 'c', clusterIndex: 1, widthRatio: task.widthRatio, weights: task.weights.map((v) => v + 1), numSamples: 4 }]));
    const models = s.clusterModels();
    expect(models.map((m) => m.widthRatio)).toEqual([0.25, 1]);
    const global = models[1]!.weights;
    const held = new Set(submodelIndexMap(spec, task.widthRatio));
    for (let g = 0; g < fullCount; g++) expect(global[g]).toBe(held.has(g) ? initial[g]! + 1 : initial[g]);
    expect(models[0]!.weights).toEqual(extractSubmodel(global, spec, 0.25));
  });
});
