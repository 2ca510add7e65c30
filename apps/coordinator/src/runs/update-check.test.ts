import { describe, expect, it } from 'vitest';
import { encodeWeights } from '@fedtsa/protocol/codec';
import { checkUpdate } from './update-check.ts';

const manifest = [{ name: 'w', shape: [4] }];
const sent = Float32Array.from([1, 1, 1, 1]);
const expectation = { runId: 'r', round: 3, clusterIndex: 1, manifest, sent, reference: 1, normMultiple: 10, maxSamples: 5 };
const payload = (weights: Float32Array, over: Record<string, unknown> = {}) => ({
  runId: 'r', round: 3, clusterIndex: 1, taskId: 't', numSamples: 5, trainLoss: 0.1, weights: encodeWeights(weights, manifest), ...over,
});
const code = (r: ReturnType<typeof checkUpdate>) => (r.ok ? 'ok' : r.error.code);

describe('checkUpdate', () => {
  it('accepts a plausible update and reports its distance from the model sent', () => {
    const r = checkUpdate(payload(Float32Array.from([2, 1, 1, 1])), expectation);
    expect(r.ok && r.distance).toBe(1);
  });

  it('refuses each kind of bad update with its code', () => {
    expect(code(checkUpdate(payload(sent, { runId: 'x' }), expectation))).toBe('FEDTSA_ERR_RUN_NOT_FOUND');
    expect(code(checkUpdate(payload(sent, { round: 2 }), expectation))).toBe('FEDTSA_ERR_STALE_ROUND');
    expect(code(checkUpdate(payload(sent, { clusterIndex: 0 }), expectation))).toBe('FEDTSA_ERR_WRONG_CLUSTER');
    expect(code(checkUpdate({ ...payload(sent), weights: encodeWeights(new Float32Array(4), [{ name: 'v', shape: [4] }]) }, expectation))).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(code(checkUpdate({ ...payload(sent), weights: { manifest, dtype: 'float32', data: new Uint8Array(12) } }, expectation))).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(code(checkUpdate(payload(Float32Array.from([1, Infinity, 1, 1])), expectation))).toBe('FEDTSA_ERR_NON_FINITE');
    expect(code(checkUpdate(payload(sent, { numSamples: 6 }), expectation))).toBe('FEDTSA_ERR_BAD_CLAIM');
    expect(code(checkUpdate(payload(sent, { numSamples: 1e8 }), expectation))).toBe('FEDTSA_ERR_BAD_CLAIM');
    // distance 100 > 10 x median 1
    expect(code(checkUpdate(payload(Float32Array.from([101, 1, 1, 1])), expectation))).toBe('FEDTSA_ERR_NORM_TOO_LARGE');
    expect(code(checkUpdate(payload(Float32Array.from([101, 1, 1, 1])), { ...expectation, reference: undefined }))).toBe('ok');
  });

  it('takes float16 updates too', () => {
    const r = checkUpdate({ ...payload(sent), weights: encodeWeights(Float32Array.from([1.5, 1, 1, 1]), manifest, 'float16') }, expectation);
    expect(r.ok && Array.from(r.weights)).toEqual([1.5, 1, 1, 1]);
  });

  it('names the rule a short payload breaks, not the codec', () => {
    const r = checkUpdate({ ...payload(sent), weights: { manifest, dtype: 'float32', data: new Uint8Array(12) } }, expectation);
    expect(!r.ok && r.error.message).toBe("the update's manifest or length differs from the cluster model: 12 bytes of float32 do not hold the manifest's 4 values");
  });
});
