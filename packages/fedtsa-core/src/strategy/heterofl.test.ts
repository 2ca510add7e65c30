import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { extractSubmodel, scatterSubmodel } from '../submodel.ts';
import { foldActivationScale } from '../train-heterofl.ts';
import { HETEROFL_VARIANTS, HeteroflStrategy } from './heterofl.ts';
import { createStrategy } from './strategies.ts';
import type { ClientUpdate, ClusterPlan } from './types.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 8 };
const global = Float32Array.from({ length: parameterCount(modelManifest(spec, 1)) }, (_, i) => Math.sin(i) / 4);
const clusters: ClusterPlan[] = [
  { index: 0, widthRatio: 0.25, memberIds: ['a'] },
  { index: 1, widthRatio: 0.5, memberIds: ['b'] },
  { index: 2, widthRatio: 1, memberIds: ['c'] },
];
const sizesOf = (r: number) => modelManifest(spec, r).map((p) => p.shape.reduce((a, b) => a * b, 1));
const folded = (weights: Float32Array, r: number) => foldActivationScale(weights, sizesOf(r), 1 / r);

describe('heterofl: plain, and as published (scaler and masked loss)', () => {
  it('sends and serves each width-r cluster its submodel folded with 1/r, and asks for both training changes', () => {
    const strategy = createStrategy('heterofl', { spec, clusters, initialWeights: global, heterofl: HETEROFL_VARIANTS.published });
    const tasks = strategy.tasks(['a', 'b', 'c']);
    expect(tasks.map((t) => t.training)).toEqual([
      { activationScale: 4, maskAbsentClasses: true }, { activationScale: 2, maskAbsentClasses: true }, { maskAbsentClasses: true },
    ]);
    const expected = clusters.map((c) => folded(extractSubmodel(global, spec, c.widthRatio), c.widthRatio));
    tasks.forEach((t, k) => expect(t.weights).toEqual(expected[k]));
    strategy.clusterModels().forEach((m, k) => expect(m.weights).toEqual(expected[k]));
    // conv1's bias of the width-1/4 model (after its 3x3x1x1 kernel) is the global's times 4.
    expect(tasks[0]!.weights[9]).toBeCloseTo(4 * global[3 * 3 * 1 * 4]!, 6);
  });

  it('unfolds every update before averaging: clients that return what they were sent leave the global model as it was', () => {
    const strategy = new HeteroflStrategy({ spec, clusters, initialWeights: global }, HETEROFL_VARIANTS.published);
    const updates: ClientUpdate[] = strategy.tasks(['a', 'b', 'c']).map((t) => ({ ...t, numSamples: 10 }));
    strategy.adopt(strategy.stage1(updates));
    expect(strategy.globalWeights()).toEqual(global);
  });

  it('a width-1/2 update moves the global elements it holds by its unfolded change', () => {
    const strategy = new HeteroflStrategy({ spec, clusters, initialWeights: global }, HETEROFL_VARIANTS.published);
    const sub = extractSubmodel(global, spec, 0.5);
    const changed = sub.map((v) => v + 0.125);
    strategy.adopt(strategy.stage1([{ clientId: 'b', clusterIndex: 1, widthRatio: 0.5, weights: folded(changed, 0.5), numSamples: 5 }]));
    const want = scatterSubmodel(global, changed, spec, 0.5);
    const got = strategy.globalWeights();
    let worst = 0;
    got.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - (want[i] as number))); });
    expect(worst).toBeLessThan(1e-6);
    expect(strategy.clusterModels()[1]!.weights).toEqual(folded(extractSubmodel(got, spec, 0.5), 0.5));
  });

  it('by default (plain) it is the HeteroFL of results/fmnist-stage2: no training changes, unfolded submodels', () => {
    const strategy = createStrategy('heterofl', { spec, clusters, initialWeights: global });
    const tasks = strategy.tasks(['a', 'b', 'c']);
    expect(tasks.every((t) => t.training === undefined)).toBe(true);
    tasks.forEach((t, k) => expect(t.weights).toEqual(extractSubmodel(global, spec, clusters[k]!.widthRatio)));
    const maskOnly = new HeteroflStrategy({ spec, clusters, initialWeights: global }, { scaler: false, maskedLoss: true });
    expect(maskOnly.tasks(['a'])[0]!.training).toEqual({ maskAbsentClasses: true });
    expect(maskOnly.tasks(['a'])[0]!.weights).toEqual(extractSubmodel(global, spec, 0.25));
  });
});
