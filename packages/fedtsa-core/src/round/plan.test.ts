import { describe, expect, it } from 'vitest';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { clusterByCapability } from '../kde.ts';
import { extractSubmodel } from '../submodel.ts';
import { carryOverModels, membershipChanged, planClusters, snapshotClustering, type PlanOptions } from './plan.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3, conv1Filters: 4, conv2Filters: 4, hiddenUnits: 8 };
const init = Float32Array.from({ length: parameterCount(modelManifest(spec, 1)) }, (_, i) => i);
// The coordinator's defaults (kdeBandwidthFactor, kdeMinProminence, localEpochs) with two clients per cluster at least.
const options: PlanOptions = { kde: { bandwidthFactor: 0.5, minProminence: 0.5, minClusterSize: 2 }, roundBudgetSec: 1, localEpochs: 1 };
const clients = [
  // 5x apart: a client drifting into the gap is within 3x of a tier, so it joins one rather than standing alone (kde.ts isolatedGapLog).
  ...[120, 130, 140].map((s, i) => ({ id: `f${i}`, samplesPerSec: s, numSamples: 100 })),
  ...[20, 22, 24].map((s, i) => ({ id: `s${i}`, samplesPerSec: s, numSamples: 100 })),
];
const plan = (profiles = clients, more: Partial<PlanOptions> = {}) => snapshotClustering(planClusters(profiles, { ...options, ...more }));

describe('round plan', () => {
  it('splits two speed tiers and gives the fast one the wider model', () => {
    const c = plan();
    expect(c.clusters.map((x) => x.memberIds.sort())).toEqual([['s0', 's1', 's2'], ['f0', 'f1', 'f2']]);
    expect(c.clusters[0]!.widthRatio).toBeLessThan(c.clusters[1]!.widthRatio);
    expect(membershipChanged(c, clients.map((x) => x.id))).toBe(false);
    expect(membershipChanged(c, [...clients.map((x) => x.id), 'new'])).toBe(true);
  });

  it('carries each cluster model over to the new cluster holding most of its members, resized when needed', () => {
    const before = plan();
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
    // with no old models, every cluster starts from the initial weights at its width
    expect(carryOverModels(spec, init, [], before).map((m) => m.weights)).toEqual(before.clusters.map((c) => extractSubmodel(init, spec, c.widthRatio)));
  });

  it('without a previous clustering, the clusters are the KDE clusters', () => {
    const setup = planClusters(clients, options);
    const kde = clusterByCapability(clients, { maxClusters: 4, ...options.kde });
    expect(setup.kde).toEqual(kde);
    expect(setup.clusters.map((c) => c.memberIds)).toEqual(kde.clusters.map((c) => c.memberIds));
  });

  it('keeps a client that drifted just past a boundary in its cluster, and lets it go when the margin is narrower than its drift', () => {
    const previous = plan();
    const boundary = previous.boundaries[0]!;
    const drifted = (samplesPerSec: number) => clients.map((c) => (c.id === 's2' ? { ...c, samplesPerSec } : c));
    const justPast = drifted(boundary * Math.exp(0.1));
    // without hysteresis it flips to the fast cluster, with it it stays
    expect(plan(justPast).clusters[1]!.memberIds).toContain('s2');
    expect(plan(justPast, { hysteresis: { previous, marginLog: 2 } }).clusters[0]!.memberIds).toContain('s2');
    expect(plan(justPast, { hysteresis: { previous, marginLog: 0.05 } }).clusters[1]!.memberIds).toContain('s2');
  });

  it('saves exactly the fields rounds have always been stored with', () => {
    const c = plan();
    expect(Object.keys(c)).toEqual(['boundaries', 'grid', 'clusters']);
    expect(Object.keys(c.grid)).toEqual(['x', 'density']);
    for (const cluster of c.clusters) expect(Object.keys(cluster)).toEqual(['index', 'widthRatio', 'memberIds']);
  });
});
