import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { cappedWeights } from './averaging-weights.ts';
import { changeLimit, checkModelStep } from './invariants.ts';
import { changeCosine, leaveOneOutCosines, median, medianChange, screenClusterUpdates, type ScreenCandidate } from './update-screen.ts';

const P = 500;
const rng = createRng(42);
const gauss = () => {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
};
const sent = Float32Array.from({ length: P }, gauss);
/** A shared direction plus client noise, as honest non-IID updates look: cosine with each other about 0.5. */
const common = Float32Array.from({ length: P }, () => 0.01 * gauss());
const honest = (scale = 1) => Float32Array.from(sent, (s, i) => s + scale * ((common[i] as number) + 0.01 * gauss()));
const candidate = (clientId: string, weights: Float32Array): ScreenCandidate => {
  let d = 0;
  for (let i = 0; i < P; i++) d += ((weights[i] as number) - (sent[i] as number)) ** 2;
  return { clientId, weights, distance: Math.sqrt(d) };
};
const flipped = (w: Float32Array) => Float32Array.from(w, (v, i) => 2 * (sent[i] as number) - v);
const settings = { normMultiple: 10, minCosine: 0, minConsensus: 0.1 };

describe('screenClusterUpdates', () => {
  it('keeps every honest update', () => {
    const r = screenClusterUpdates(sent, Array.from({ length: 6 }, (_, i) => candidate(`h${i}`, honest())), settings);
    expect(r.dropped).toEqual([]);
    expect(r.kept).toHaveLength(6);
    expect(r.directionChecked).toBe(true);
    expect(r.cosines.size).toBe(6);
    for (const c of r.cosines.values()) expect(c).toBeGreaterThan(0.3);
  });

  it('drops a scaled update by norm and sign-flipped ones by direction, with a third of attackers', () => {
    const updates = [...Array.from({ length: 6 }, (_, i) => candidate(`h${i}`, honest())),
      candidate('big', Float32Array.from(honest(), (v) => v * 1000)), candidate('flip1', flipped(honest())), candidate('flip2', flipped(honest()))];
    const r = screenClusterUpdates(sent, updates, settings);
    expect(r.dropped.map((d) => [d.clientId, d.reason]).sort()).toEqual([['big', 'norm'], ['flip1', 'direction'], ['flip2', 'direction']]);
    expect(r.kept.sort()).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
  });

  it('compares norms from three updates, and skips the direction check below five updates or at minCosine -1', () => {
    expect(screenClusterUpdates(sent, [candidate('a', flipped(honest()))], settings).dropped).toEqual([]);
    // Two honest clients can drift far apart: with one "other", the norm is no reference.
    expect(screenClusterUpdates(sent, [candidate('a', honest()), candidate('b', honest(20))], settings).dropped).toEqual([]);
    expect(screenClusterUpdates(sent, [candidate('a', honest()), candidate('c', honest()), candidate('b', honest(20))], settings).dropped.map((d) => d.clientId)).toEqual(['b']);
    const four = [candidate('a', honest()), candidate('b', honest()), candidate('c', flipped(honest())), candidate('d', honest())];
    expect(screenClusterUpdates(sent, four, settings).dropped).toEqual([]);
    const five = [...four, candidate('e', honest())];
    expect(screenClusterUpdates(sent, five, settings).dropped.map((d) => d.clientId)).toEqual(['c']);
    expect(screenClusterUpdates(sent, five, { ...settings, minCosine: -1 }).dropped).toEqual([]);
  });

  it('checks directions only in a cluster that agrees: without a consensus it drops no one, flipped or not', () => {
    // A model at chance: each honest update pulls towards its own client's labels, with no shared direction.
    const own = () => Float32Array.from(sent, (s) => s + 0.01 * gauss());
    const disagreeing = [...Array.from({ length: 8 }, (_, i) => candidate(`h${i}`, own())), candidate('flip', flipped(own()))];
    const off = screenClusterUpdates(sent, disagreeing, settings);
    expect(off.consensus).toBeLessThan(0.1);
    expect(off.directionChecked).toBe(false);
    expect(off.dropped).toEqual([]);
    // The same updates screened unconditionally (the rule before the gate) lose honest ones too.
    const always = screenClusterUpdates(sent, disagreeing, { ...settings, minConsensus: -1 });
    expect(always.directionChecked).toBe(true);
    expect(always.dropped.filter((d) => d.clientId.startsWith('h')).length).toBeGreaterThan(0);
    // A quarter of flippers in an agreeing cluster cannot pull the median below the gate.
    const agreeing = [...Array.from({ length: 6 }, (_, i) => candidate(`h${i}`, honest())), candidate('flip1', flipped(honest())), candidate('flip2', flipped(honest()))];
    const on = screenClusterUpdates(sent, agreeing, settings);
    expect(on.consensus).toBeGreaterThan(0.1);
    expect(on.directionChecked).toBe(true);
    expect(on.dropped.map((d) => d.clientId).sort()).toEqual(['flip1', 'flip2']);
    expect(on.dropped[0]?.numbers.consensus).toBe(on.consensus);
  });

  it('validates its settings', () => {
    expect(() => screenClusterUpdates(sent, [], { ...settings, normMultiple: 1 })).toThrow(/normMultiple must be > 1/);
    expect(() => screenClusterUpdates(sent, [], { ...settings, minCosine: 2 })).toThrow(/minCosine must be in \[-1, 1\]/);
    expect(() => screenClusterUpdates(sent, [], { ...settings, minConsensus: NaN })).toThrow(/minConsensus must be in \[-1, 1\]/);
  });

  it('takes medians', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('computes each update\'s cosine with the median change of the others in one pass, equal to the direct way', () => {
    for (let n = 2; n <= 9; n++) {
      // Coarse values so that ties within a coordinate are common.
      const ws = Array.from({ length: n }, () => Float32Array.from(sent, (v) => v + Math.round(gauss() * 2) * 0.01));
      const direct = ws.map((w, k) => changeCosine(sent, w, medianChange(sent, ws.filter((_, j) => j !== k))));
      expect(leaveOneOutCosines(sent, ws)).toEqual(direct);
    }
  });

  it('takes the coordinate-wise median of the changes', () => {
    const s = Float32Array.from([0, 1]);
    const m = medianChange(s, [Float32Array.from([1, 1]), Float32Array.from([2, 3]), Float32Array.from([-5, 0])]);
    expect(Array.from(m)).toEqual([1, 0]);
    expect(changeCosine(s, Float32Array.from([2, 1]), Float32Array.from([1, 0]))).toBeCloseTo(1);
    expect(changeCosine(s, Float32Array.from([-2, 1]), Float32Array.from([1, 0]))).toBeCloseTo(-1);
  });
});

describe('cappedWeights', () => {
  it('leaves similar honest claims as they are', () => {
    expect(cappedWeights([300, 250, 320, 280], { claimMultiple: 3, maxClientShare: 0.3 })).toEqual([300, 250, 320, 280]);
  });

  it('caps a 1e8 claim at a multiple of the median and at a share of the total', () => {
    const w = cappedWeights([300, 300, 300, 300, 300, 1e8], { claimMultiple: 3, maxClientShare: 0.3 });
    const total = w.reduce((a, b) => a + b, 0);
    expect(Math.max(...w) / total).toBeLessThanOrEqual(0.3 + 1e-12);
    expect(w.slice(0, 5)).toEqual([300, 300, 300, 300, 300]);
    expect(w[5]).toBeCloseTo((0.3 * 1500) / 0.7, 6);
  });

  it('never goes below equal weights, and with two clients one liar gets at most half', () => {
    const w = cappedWeights([300, 1e8], { claimMultiple: 3, maxClientShare: 0.1 });
    expect(w[0]).toBe(w[1]);
    const many = cappedWeights([1e8, 1e8, 1e8, 10], { claimMultiple: 1000, maxClientShare: 0.3 });
    const t = many.reduce((a, b) => a + b, 0);
    for (const x of many) expect(x / t).toBeLessThanOrEqual(0.3 + 1e-12);
  });

  it('refuses claims that are not positive', () => {
    expect(() => cappedWeights([1, 0], { claimMultiple: 3, maxClientShare: 0.3 })).toThrow(/claims\[1\] must be a positive number/);
  });
});

describe('round invariants', () => {
  const limits = { changeMultiple: 10, firstChangeOfNorm: 1, changeFloorOfNorm: 0 };
  it('bounds the first change by the starting norm, later ones by the typical change', () => {
    const first = changeLimit(sent, [], limits);
    expect(first.basis).toBe('start-norm');
    expect(checkModelStep(sent, honest(), first).ok).toBe(true);
    expect(checkModelStep(sent, Float32Array.from(sent, (v) => v * 1000), first)).toMatchObject({ ok: false });
    const later = changeLimit(sent, [5, 0.3, 0.2, 0.25, 0.22, 0.21], limits);
    expect(later).toMatchObject({ basis: 'typical-change', reference: 0.22, maxChange: 2.2 });
  });

  it('never lets the limit fall below the floor: a model that starts slowly may take off', () => {
    const norm = Math.sqrt(sent.reduce((a, v) => a + v * v, 0));
    // Four slow rounds (1% of the norm each), then a step of half the norm: 50 x the typical change.
    const history = [0.01, 0.012, 0.011, 0.01].map((f) => f * norm);
    const takeOff = Float32Array.from(sent, (v, i) => v + (i === 0 ? 0.5 * norm : 0));
    const before = changeLimit(sent, history, limits);
    expect(checkModelStep(sent, takeOff, before).ok).toBe(false);
    const floored = changeLimit(sent, history, { ...limits, changeFloorOfNorm: 1 });
    expect(floored.basis).toBe('start-norm');
    expect(floored.maxChange).toBeCloseTo(norm, 3);
    expect(checkModelStep(sent, takeOff, floored).ok).toBe(true);
    // Scaled and flipped models stay out: they move 999 x and 2 x the norm.
    expect(checkModelStep(sent, Float32Array.from(sent, (v) => v * 1000), floored).ok).toBe(false);
    expect(checkModelStep(sent, Float32Array.from(sent, (v) => -v), floored).ok).toBe(false);
    // A typical change above the floor still sets the limit.
    expect(changeLimit(sent, [0.5 * norm], { ...limits, changeFloorOfNorm: 1 })).toMatchObject({ basis: 'typical-change', reference: 0.5 * norm });
    expect(() => changeLimit(sent, [], { ...limits, changeFloorOfNorm: -1 })).toThrow(/changeFloorOfNorm must be >= 0/);
  });

  it('refuses non-finite models and wrong lengths', () => {
    const bad = sent.slice();
    bad[7] = NaN;
    const limit = changeLimit(sent, [1], limits);
    expect(checkModelStep(sent, bad, limit)).toMatchObject({ ok: false, reason: 'the model is not finite' });
    expect(checkModelStep(sent, sent.subarray(1), limit).ok).toBe(false);
    const inf = sent.slice();
    inf[0] = Infinity;
    expect(checkModelStep(sent, inf, { maxChange: Infinity, basis: 'start-norm', reference: 1 }).ok).toBe(false);
  });
});
