import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '@fedtsa/core/architecture';
import { extractSubmodel } from '@fedtsa/core/submodel';
import { carryOverModels, clusterClients, membershipChanged } from './clustering.ts';
import { resolveSettings } from './settings.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 8 };
const init = Float32Array.from({ length: parameterCount(modelManifest(spec, 1)) }, (_, i) => i);
const settings = resolveSettings({ roundBudgetSec: 1, expectedSamplesPerClient: 100, minClientsPerCluster: 2 });
const clients = [
  ...[1000, 1100, 1200].map((s, i) => ({ id: `f${i}`, samplesPerSec: s, numSamples: 100 })),
  ...[20, 22, 24].map((s, i) => ({ id: `s${i}`, samplesPerSec: s, numSamples: 100 })),
];

describe('live clustering', () => {
  it('splits two speed tiers and gives the fast one the wider model', () => {
    const c = clusterClients(clients, settings, undefined);
    expect(c.clusters.map((x) => x.memberIds.sort())).toEqual([['s0', 's1', 's2'], ['f0', 'f1', 'f2']]);
    expect(c.clusters[0]!.widthRatio).toBeLessThan(c.clusters[1]!.widthRatio);
    expect(membershipChanged(c, clients.map((x) => x.id))).toBe(false);
    expect(membershipChanged(c, [...clients.map((x) => x.id), 'new'])).toBe(true);
  });

  it('carries each cluster model over to the new cluster holding most of its members, resized when needed', () => {
    const before = clusterClients(clients, settings, undefined);
    const models = before.clusters.map((c) => ({ clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds, weights: extractSubmodel(init, spec, c.widthRatio).map((v) => v + 0.5) }));
    const same = carryOverModels(spec, init, models, before);
    expect(same.map((m) => m.weights)).toEqual(models.map((m) => m.weights));
    const narrower = { ...before, clusters: before.clusters.map((c) => ({ ...c, widthRatio: 0.25 })) };
    const resized = carryOverModels(spec, init, models, narrower);
    for (const [k, m] of resized.entries()) {
      expect(m.weights.length).toBe(parameterCount(modelManifest(spec, 0.25)));
      // the kept elements are the old model's, not the initial weights
      expect(m.weights[0]).toBe(models[k]!.weights[0]);
    }
  });

  it('validates run settings and fills defaults', () => {
    expect(resolveSettings({}).stage2.steps).toBeGreaterThan(0);
    expect(() => resolveSettings({ rounds: 0 })).toThrow(/rounds/);
    expect(() => resolveSettings({ unknownField: 1 })).toThrow();
  });
});
