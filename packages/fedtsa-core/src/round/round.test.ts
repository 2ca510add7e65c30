import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../architecture.ts';
import { useBackend } from '../backend.ts';
import { initialWeights } from '../model.ts';
import { createRng } from '../rng.ts';
import { ChunkedSource, SAMPLE_CHUNK } from '../stage2/chunked-source.ts';
import { createStrategy } from '../strategy/strategies.ts';
import type { ClusterModel, ClusterPlan, ServerStep } from '../strategy/types.ts';
import { l2Distance } from '../screening/update-screen.ts';
import { closeRound, type ReceivedUpdate } from './close.ts';
import { RoundMemory } from './memory.ts';
import { selectParticipants } from './participants.ts';
import { DEFAULT_ROUND_POLICY } from './policy.ts';
import { meanAccuracy, scoreModels } from './score.ts';

const spec: ModelSpec = { inputShape: [8, 8, 1], numClasses: 3 };
let init: Float32Array;
beforeAll(async () => {
  await useBackend('cpu');
  init = initialWeights(spec, 3);
});
const clusters: ClusterPlan[] = [
  { index: 0, widthRatio: 0.5, memberIds: ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'] },
  { index: 1, widthRatio: 1, memberIds: ['b0', 'b1', 'b2'] },
];
/** Standard normal draws from `rng` (Box-Muller). */
const gaussOf = (rng: ReturnType<typeof createRng>) => () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
const gauss = gaussOf(createRng(9));

/** Honest updates: the model sent plus a shared direction and client noise, at distance about `step` x norm. */
function updatesFor(strategy: ReturnType<typeof createStrategy>, step = 0.01): ReceivedUpdate[] {
  const models = strategy.clusterModels();
  return strategy.tasks(clusters.flatMap((c) => c.memberIds)).map((t) => {
    const sent = (models.find((m) => m.clusterIndex === t.clusterIndex) as ClusterModel).weights;
    const weights = Float32Array.from(sent, (v, i) => v + step * (Math.sin(i) + 0.5 * gauss()));
    let d = 0;
    for (let i = 0; i < sent.length; i++) d += ((weights[i] as number) - (sent[i] as number)) ** 2;
    return { clientId: t.clientId, clusterIndex: t.clusterIndex, widthRatio: t.widthRatio, weights, numSamples: 50, distance: Math.sqrt(d) };
  });
}

const sentOf = (models: readonly ClusterModel[]) => new Map(models.map((m) => [m.clusterIndex, m.weights]));

describe('closeRound', () => {
  it('drops a flipped update, caps an inflated claim, averages the rest and adopts the result', async () => {
    const strategy = createStrategy('fedtsa-stage1', { spec, clusters, initialWeights: init });
    const start = strategy.clusterModels();
    const updates = updatesFor(strategy);
    const flip = updates[0] as ReceivedUpdate;
    const sent0 = start[0]?.weights as Float32Array;
    flip.weights = Float32Array.from(flip.weights, (v, i) => 2 * (sent0[i] as number) - v);
    (updates[1] as ReceivedUpdate).numSamples = 1e6;
    const out = await closeRound(strategy, { round: 1, updates, sent: sentOf(start), history: new Map(), policy: DEFAULT_ROUND_POLICY });
    expect(out.dropped.map((d) => [d.clientId, d.reason])).toEqual([['a0', 'direction']]);
    expect(out.capped.map((c) => [c.clientId, c.claimed, c.weight])).toEqual([['a1', 1e6, 150]]);
    expect(out.accepted.map((u) => u.clientId)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'b1', 'b2']);
    expect(out.rollbacks).toEqual([]);
    expect(strategy.clusterModels()).toBe(out.models);
    out.changes.forEach((c) => expect(c.change).toBeGreaterThan(0));
    expect(out.limits.map((l) => l.basis)).toEqual(['start-norm', 'start-norm']);
    expect(out.unscreened).toEqual([]);
  });

  it('reports a cluster whose updates do not agree, and lets its updates through the direction screen', async () => {
    const strategy = createStrategy('fedtsa-stage1', { spec, clusters, initialWeights: init });
    const start = strategy.clusterModels();
    // No shared direction: each of cluster 0's six updates is its own noise (a model that knows nothing).
    const noise = gaussOf(createRng(31));
    const updates = updatesFor(strategy).map((u) => {
      if (u.clusterIndex !== 0) return u;
      const sent = start[0]?.weights as Float32Array;
      const weights = Float32Array.from(sent, (v) => v + 0.01 * noise());
      return { ...u, weights, distance: l2Distance(sent, weights) };
    });
    // Independent noise has a consensus near 0 either side; a gate of 0.2 is well above it (the agreeing cluster 1 has 3 updates, below the check's 5).
    const policy = { ...DEFAULT_ROUND_POLICY, minConsensus: 0.2 };
    const out = await closeRound(strategy, { round: 1, updates, sent: sentOf(start), history: new Map(), policy });
    expect(out.unscreened.map((u) => [u.clusterIndex, u.updates])).toEqual([[0, 6]]);
    expect(out.unscreened[0]?.consensus).toBeLessThan(0.2);
    expect(out.dropped).toEqual([]);
    expect(out.accepted.filter((u) => u.clusterIndex === 0)).toHaveLength(6);
  });

  it('rolls a cluster back after Stage 1 and after the server step, and keeps a cluster it cannot trust from teaching', async () => {
    let seen: ReadonlyMap<number, string> | undefined;
    const serverStep: ServerStep = async (_round, models, context) => {
      seen = context?.withoutTeaching;
      // The server step blows up cluster 1's model.
      return { models: models.map((m) => (m.clusterIndex === 1 ? { ...m, weights: m.weights.map((v) => v * 1e3) } : m)), stats: { x: 1 } };
    };
    const strategy = createStrategy('fedtsa', { spec, clusters, initialWeights: init, serverStep });
    const start = strategy.clusterModels();
    const history = new Map([[0, [1e-6, 1e-6, 1e-6]]]);
    // Without the norm floor, so that cluster 0's tiny typical change refuses its Stage 1.
    const out = await closeRound(strategy, { round: 2, updates: updatesFor(strategy), sent: sentOf(start), history, policy: { ...DEFAULT_ROUND_POLICY, changeFloorOfNorm: 0 } });
    expect(out.rollbacks.map((r) => [r.clusterIndex, r.step])).toEqual([[0, 'stage1'], [1, 'stage2']]);
    expect(seen?.get(0)).toMatch(/rolled back/);
    expect(out.models[0]?.weights).toBe(start[0]?.weights);
    expect(out.models[1]?.weights).not.toBe(start[1]?.weights);
    expect(out.serverStepStats).toEqual({ x: 1 });
  });

  it('with overlap, defers the server step and adds its change at the next close: Stage1_{r+1} + (Stage2_r - Stage1_r)', async () => {
    // The server step adds 0.01 to every weight of every cluster and records the models it saw.
    const seenRounds: number[] = [];
    const serverStep: ServerStep = async (round, models) => {
      seenRounds.push(round);
      return { models: models.map((m) => ({ ...m, weights: m.weights.map((v) => v + 0.01) })), stats: { mutualLearningMs: 5 } };
    };
    const overlapped = createStrategy('fedtsa', { spec, clusters, initialWeights: init, serverStep });
    const inline = createStrategy('fedtsa', { spec, clusters, initialWeights: init, serverStep });
    const policy = DEFAULT_ROUND_POLICY;
    // Round 1: the overlapped close stops after Stage 1; nothing of the step has happened yet.
    const updates1 = updatesFor(overlapped);
    const r1 = await closeRound(overlapped, { round: 1, updates: updates1, sent: sentOf(overlapped.clusterModels()), history: new Map(), policy, deferServerStep: true });
    const inline1 = await closeRound(inline, { round: 1, updates: updates1, sent: sentOf(inline.clusterModels()), history: new Map(), policy });
    expect(seenRounds).toEqual([1]);
    expect(r1.serverStepStats).toEqual({});
    expect(r1.deferred?.round).toBe(1);
    // The overlapped round 1 models are the inline ones minus the step's 0.01.
    r1.models.forEach((m, k) => m.weights.forEach((v, i) => expect(v + 0.01).toBeCloseTo(inline1.models[k]!.weights[i]!, 6)));
    const stage1 = r1.models.map((m) => m.weights.slice());
    const carried = await r1.deferred!.run();
    expect(seenRounds).toEqual([1, 1]);
    await expect(r1.deferred!.run()).rejects.toThrow(/already ran/);
    carried.changes.forEach((c) => c.delta.forEach((d) => expect(d).toBeCloseTo(0.01, 6)));
    // Running the step did not touch the adopted models: the next round's clients train from Stage 1.
    overlapped.clusterModels().forEach((m, k) => expect(m.weights).toEqual(stage1[k]));
    // Round 2 (the last): Stage 1 + the carried change, then the step inline on top.
    const updates2 = updatesFor(overlapped);
    const r2 = await closeRound(overlapped, { round: 2, updates: updates2, sent: sentOf(overlapped.clusterModels()), history: new Map(), policy, carried });
    expect(r2.deferred).toBeUndefined();
    expect(r2.serverStepStats).toMatchObject({ carriedFromRound: 1, mutualLearningMs: 5 });
    const proposal = createStrategy('fedtsa-stage1', { spec, clusters, initialWeights: init });
    proposal.adopt(r1.models);
    const fedAvg2 = proposal.stage1(updates2);
    r2.models.forEach((m, k) => m.weights.forEach((v, i) => expect(v).toBeCloseTo(fedAvg2[k]!.weights[i]! + 0.02, 5)));
  });

  it('drops a carried change for a cluster whose width changed, and rolls one back that breaks an invariant', async () => {
    const strategy = createStrategy('fedtsa-stage1', { spec, clusters, initialWeights: init });
    const start = strategy.clusterModels();
    const carried = {
      round: 1, teachers: [], stats: {}, ms: 1,
      changes: [
        { clusterIndex: 0, widthRatio: 0.25, delta: new Float32Array(3) },
        { clusterIndex: 1, widthRatio: start[1]!.widthRatio, delta: new Float32Array(start[1]!.weights.length).fill(1e3) },
      ],
    };
    const updates = updatesFor(strategy);
    const plain = createStrategy('fedtsa-stage1', { spec, clusters, initialWeights: init }).stage1(updates);
    const out = await closeRound(strategy, { round: 2, updates, sent: sentOf(start), history: new Map(), policy: DEFAULT_ROUND_POLICY, carried });
    expect(out.rollbacks.map((r) => [r.clusterIndex, r.step])).toEqual([[1, 'stage2']]);
    out.models.forEach((m, k) => expect(m.weights).toEqual(plain[k]!.weights));
  });

  it('moves a shared model only when no cluster was rolled back', async () => {
    for (const name of ['fedavg-small', 'heterofl'] as const) {
      const strategy = createStrategy(name, { spec, clusters, initialWeights: init });
      const before = strategy.clusterModels().map((m) => m.weights.slice());
      const tight = new Map([[1, [1e-9]]]);
      const held = await closeRound(strategy, { round: 1, updates: updatesFor(strategy), sent: sentOf(strategy.clusterModels()), history: tight, policy: { ...DEFAULT_ROUND_POLICY, changeFloorOfNorm: 0 } });
      expect(held.rollbacks.length).toBeGreaterThan(0);
      strategy.clusterModels().forEach((m, k) => expect(m.weights).toEqual(before[k]));
      const moved = await closeRound(strategy, { round: 1, updates: updatesFor(strategy), sent: sentOf(strategy.clusterModels()), history: new Map(), policy: DEFAULT_ROUND_POLICY });
      expect(moved.rollbacks).toEqual([]);
      expect(strategy.clusterModels()[0]?.weights).not.toEqual(before[0]);
    }
  });
});

describe('RoundMemory', () => {
  it('keeps medians and changes per cluster, forgets a cluster whose width changed, and rebuilds from records', () => {
    const memory = RoundMemory.fromRecords([
      { clusters: [{ clusterIndex: 0, widthRatio: 0.5, medianDistance: 2, modelChange: 1 }, { clusterIndex: 1, widthRatio: 1, modelChange: 3 }] },
      { clusters: [{ clusterIndex: 0, widthRatio: 1, modelChange: 5 }, { clusterIndex: 1, widthRatio: 1, medianDistance: 4, modelChange: 6 }] },
    ]);
    expect(memory.history(0)).toEqual([5]);
    expect(memory.medianDistance(0)).toBeUndefined();
    expect(memory.history(1)).toEqual([3, 6]);
    expect(memory.reference(1, [])).toBe(4);
    expect(memory.reference(0, [1])).toBeUndefined();
    expect(memory.reference(0, [1, 3, 8])).toBe(3);
    const accepted = [{ clusterIndex: 0, distance: 2 }, { clusterIndex: 0, distance: 4 }, { clusterIndex: 1, distance: 9 }] as ReceivedUpdate[];
    memory.remember({ changes: [{ clusterIndex: 0, change: 7 }, { clusterIndex: 1, change: 8 }], accepted, rollbacks: [{ clusterIndex: 1, step: 'stage1', reason: '', change: 0, maxChange: 0 }] });
    expect(memory.medianDistance(0)).toBe(3);
    expect(memory.medianDistance(1)).toBe(4);
    expect(memory.history(0)).toEqual([5, 7]);
    memory.forget(1);
    expect(memory.history(1)).toEqual([]);
  });
});

describe('selectParticipants', () => {
  it('depends on seed and round, not on the order members are listed in, and takes count of the online ones', () => {
    const a = selectParticipants(clusters, { seed: 1, round: 2, count: (n) => n - 1 });
    const reversed = clusters.map((c) => ({ ...c, memberIds: [...c.memberIds].reverse() }));
    expect([...selectParticipants(reversed, { seed: 1, round: 2, count: (n) => n - 1 })]).toEqual([...a]);
    expect(a.size).toBe(7);
    expect([...selectParticipants(clusters, { seed: 1, round: 3, count: (n) => n })].map(([id]) => id)).not.toEqual([...a.keys()]);
    const online = selectParticipants(clusters, { seed: 1, round: 2, count: (n) => n, isOnline: (id) => id !== 'a3' });
    expect(online.has('a3')).toBe(false);
    expect(online.size).toBe(8);
  });
});

describe('ChunkedSource', () => {
  it('draws the same images however its chunks are scheduled, each chunk with its own seed', async () => {
    const calls: [number, number][] = [];
    const fake = (labels: Uint8Array, seed: number) => {
      calls.push([labels.length, seed]);
      return Promise.resolve(Float32Array.from({ length: labels.length * 4 }, (_, i) => (seed % 1000) + labels[Math.floor(i / 4)]! + i));
    };
    const source = new ChunkedSource([2, 2, 1], 3, fake);
    const labels = Uint8Array.from({ length: SAMPLE_CHUNK * 2 + 3 }, (_, i) => i % 3);
    const a = await source.sample(labels, 11);
    expect(calls.map((c) => c[0])).toEqual([SAMPLE_CHUNK, SAMPLE_CHUNK, 3]);
    expect(new Set(calls.map((c) => c[1])).size).toBe(3);
    const slow = new ChunkedSource([2, 2, 1], 3, async (l, s) => {
      // The last (short) chunk resolves first.
      if (l.length !== 3) for (let i = 0; i < 5; i++) await Promise.resolve();
      return fake(l, s);
    });
    expect((await slow.sample(labels, 11)).images).toEqual(a.images);
    await expect(new ChunkedSource([2, 2, 1], 3, async () => new Float32Array(1)).sample(labels, 1)).rejects.toThrow(/came back with 1 values/);
  });
});

describe('scoreModels', () => {
  it('scores a shared model once and weights the mean by members', async () => {
    const w = new Float32Array(2);
    let calls = 0;
    const scores = await scoreModels([
      { clusterIndex: 0, widthRatio: 1, weights: w, memberIds: ['a'] },
      { clusterIndex: 1, widthRatio: 1, weights: w, memberIds: ['b', 'c', 'd'] },
    ], () => ({ accuracy: 0.5 + 0.1 * calls++, loss: 1, count: 10 }));
    expect(calls).toBe(1);
    expect(meanAccuracy(scores)).toBeCloseTo(0.5);
    expect(meanAccuracy([{ accuracy: 1, members: 1 }, { accuracy: 0, members: 3 }])).toBeCloseTo(0.25);
  });
});
