import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from './architecture.ts';
import { fedAvg, heteroflAggregate } from './aggregate.ts';
import { extractSubmodel, submodelIndexMap } from './submodel.ts';

describe('fedAvg', () => {
  it('returns identical updates unchanged', () => {
    const w = Float32Array.from([0.1, -2.5, 3e-7, 1e6]);
    expect(fedAvg([{ weights: w, numSamples: 3 }, { weights: w.slice(), numSamples: 40 }])).toEqual(w);
  });

  it('weights by sample count', () => {
    const out = fedAvg([
      { weights: Float32Array.from([0, 10]), numSamples: 1 },
      { weights: Float32Array.from([4, 2]), numSamples: 3 },
    ]);
    expect(Array.from(out)).toEqual([3, 4]);
  });

  it('rejects mismatched lengths and bad sample counts', () => {
    expect(() => fedAvg([])).toThrow(/fedAvg: updates must not be empty/);
    expect(() => fedAvg([{ weights: new Float32Array(2), numSamples: 1 }, { weights: new Float32Array(3), numSamples: 1 }])).toThrow(/updates\[1\]/);
    expect(() => fedAvg([{ weights: new Float32Array(2), numSamples: 0 }])).toThrow(/numSamples/);
  });
});

describe('heteroflAggregate', () => {
  // conv1 4 filters, conv2 2 filters, 2 hidden units, 2 classes, 4x4x1 input -> tiny model
  const spec: ModelSpec = { inputShape: [4, 4, 1], numClasses: 2, conv1Filters: 2, conv2Filters: 2, hiddenUnits: 2 };
  const n = parameterCount(modelManifest(spec, 1));

  it('matches a hand-computed example', () => {
    const global = new Float32Array(n).fill(7);
    const full = new Float32Array(n).fill(1); // a width-1 client: 1 everywhere, 1 sample
    const half = new Float32Array(parameterCount(modelManifest(spec, 0.5))).fill(4); // width-0.5 client, 3 samples
    const out = heteroflAggregate(global, [{ weights: full, numSamples: 1, widthRatio: 1 }, { weights: half, numSamples: 3, widthRatio: 0.5 }], spec);
    const shared = new Set(submodelIndexMap(spec, 0.5));
    for (let i = 0; i < n; i++) {
      // shared elements: (1*1 + 3*4) / 4 = 3.25; elements only the width-1 client holds: 1
      expect(out[i]).toBe(shared.has(i) ? 3.25 : 1);
    }
  });

  it('keeps elements that nobody trained', () => {
    const global = Float32Array.from({ length: n }, (_, i) => i);
    const half = new Float32Array(parameterCount(modelManifest(spec, 0.5))).fill(-1);
    const out = heteroflAggregate(global, [{ weights: half, numSamples: 2, widthRatio: 0.5 }], spec);
    const shared = new Set(submodelIndexMap(spec, 0.5));
    for (let i = 0; i < n; i++) expect(out[i]).toBe(shared.has(i) ? -1 : i);
    expect(extractSubmodel(out, spec, 0.5).every((v) => v === -1)).toBe(true);
  });

  it('rejects an update of the wrong width', () => {
    expect(() => heteroflAggregate(new Float32Array(n), [{ weights: new Float32Array(5), numSamples: 1, widthRatio: 0.5 }], spec)).toThrow(/heteroflAggregate: updates\[0\]/);
  });
});
