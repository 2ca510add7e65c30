import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from './architecture.ts';
import { extractSubmodel, joinFlat, scatterSubmodel, splitFlat, submodelIndexMap } from './submodel.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 6 };
const fullCount = parameterCount(modelManifest(spec, 1));
const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 0.5);

describe('submodel extraction', () => {
  it('width 1 is the identity', () => {
    const full = ramp(fullCount);
    expect(extractSubmodel(full, spec, 1)).toEqual(full);
  });

  it('extract then scatter is exact and leaves the rest untouched', () => {
    const full = ramp(fullCount);
    for (const r of [0.5, 0.25]) {
      const sub = extractSubmodel(full, spec, r);
      expect(sub.length).toBe(parameterCount(modelManifest(spec, r)));
      expect(scatterSubmodel(full, sub, spec, r)).toEqual(full);
      const changed = sub.map((v) => -v);
      const back = scatterSubmodel(full, changed, spec, r);
      expect(extractSubmodel(back, spec, r)).toEqual(changed);
      const touched = new Set(submodelIndexMap(spec, r));
      for (let i = 0; i < fullCount; i++) if (!touched.has(i)) expect(back[i]).toBe(full[i]);
    }
  });

  it('keeps the first channels of each layer, interleaved after flatten', () => {
    const full = ramp(fullCount);
    const fullParts = splitFlat(full, modelManifest(spec, 1));
    const subParts = splitFlat(extractSubmodel(full, spec, 0.5), modelManifest(spec, 0.5));
    // conv1/kernel [3,3,1,4] -> [3,3,1,2]: the first 2 of every 4 output channels
    expect(Array.from(subParts[0]!.subarray(0, 4))).toEqual([fullParts[0]![0], fullParts[0]![1], fullParts[0]![4], fullParts[0]![5]]);
    // fc1/kernel [2*2*4, 6] -> [2*2*2, 3]: row (pos 1, ch 0) of the sub is row 1*4+0 = 4 of the full
    const subFc = subParts[4]!;
    const fullFc = fullParts[4]!;
    expect(subFc[2 * 3 + 0]).toBe(fullFc[4 * 6 + 0]);
    expect(subFc[2 * 3 + 2]).toBe(fullFc[4 * 6 + 2]);
    // the class dimension is never pruned
    expect(modelManifest(spec, 0.25).at(-1)!.shape).toEqual([3]);
  });

  it('nests: a narrower submodel is a submodel of a wider one', () => {
    const full = ramp(fullCount);
    const half = extractSubmodel(full, spec, 0.5);
    const quarterFromFull = extractSubmodel(full, spec, 0.25);
    const halfMap = submodelIndexMap(spec, 0.5);
    const quarterMap = submodelIndexMap(spec, 0.25);
    const position = new Map(Array.from(halfMap, (g, i) => [g, i]));
    const quarterFromHalf = Float32Array.from(quarterMap, (g) => half[position.get(g)!]!);
    expect(quarterFromHalf).toEqual(quarterFromFull);
  });

  it('rejects wrong lengths with the function name', () => {
    expect(() => extractSubmodel(new Float32Array(3), spec, 0.5)).toThrow(/extractSubmodel: fullWeights/);
    expect(() => scatterSubmodel(ramp(fullCount), new Float32Array(3), spec, 0.5)).toThrow(/scatterSubmodel: subWeights/);
    expect(() => joinFlat([new Float32Array(1)], modelManifest(spec, 1))).toThrow(/joinFlat/);
  });
});
