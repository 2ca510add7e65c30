import { describe, expect, it } from 'vitest';
import { encodeWeights } from './codec.ts';
import { ERROR_CODES, isErrorCode, protocolError } from './errors.ts';
import { isCapabilityReport, isClientAuth, isHeartbeat, isParticipation, isUpdatePayload, PROTOCOL_VERSION } from './messages.ts';

describe('message guards', () => {
  it('accept well-formed messages', () => {
    expect(isClientAuth({ protocolVersion: PROTOCOL_VERSION, runId: 'r1', joinToken: 't' })).toBe(true);
    expect(isCapabilityReport({ samplesPerSec: 120.5, backend: 'webgl', cores: 8 })).toBe(true);
    expect(isHeartbeat({ status: 'training', progress: 0.5 })).toBe(true);
    const weights = encodeWeights(new Float32Array(4), [{ name: 'w', shape: [4] }]);
    expect(isUpdatePayload({ runId: 'r', round: 1, clusterIndex: 0, taskId: 't', numSamples: 10, trainLoss: 0.3, weights })).toBe(true);
  });

  it('refuse malformed ones', () => {
    expect(isClientAuth({ protocolVersion: 1, runId: 'r1' })).toBe(false);
    expect(isClientAuth({ protocolVersion: 1, runId: 'r1', joinToken: 't', extra: 1 })).toBe(false);
    expect(isCapabilityReport({ samplesPerSec: -1, backend: 'wasm' })).toBe(false);
    expect(isCapabilityReport({ samplesPerSec: 10, backend: 'quantum' })).toBe(false);
    expect(isCapabilityReport(null)).toBe(false);
    expect(isHeartbeat({ status: 'training', progress: 2 })).toBe(false);
    const meta = { runId: 'r', round: 1, clusterIndex: 0, taskId: 't', numSamples: 10, trainLoss: 0.3 };
    expect(isUpdatePayload({ ...meta, weights: { manifest: [], dtype: 'float32', data: [1, 2, 3] } })).toBe(false);
    expect(isUpdatePayload({ ...meta, weights: { manifest: [], dtype: 'float64', data: new Uint8Array(8) } })).toBe(false);
    expect(isUpdatePayload({ ...meta, round: -1, weights: { manifest: [], dtype: 'float32', data: new Uint8Array(0) } })).toBe(false);
  });

  it('participation: available with no reasons, or unavailable with one or two distinct known reasons', () => {
    expect(isParticipation({ available: true })).toBe(true);
    expect(isParticipation({ available: false, reasons: ['not-charging'] })).toBe(true);
    expect(isParticipation({ available: false, reasons: ['page-hidden', 'not-charging'] })).toBe(true);
    expect(isParticipation({ available: false })).toBe(false);
    expect(isParticipation({ available: false, reasons: [] })).toBe(false);
    expect(isParticipation({ available: false, reasons: ['page-hidden', 'page-hidden'] })).toBe(false);
    expect(isParticipation({ available: false, reasons: ['asleep'] })).toBe(false);
    expect(isParticipation({ available: true, reasons: ['page-hidden'] })).toBe(false);
    expect(isParticipation({ available: 'yes' })).toBe(false);
    expect(isParticipation({ available: true, extra: 1 })).toBe(false);
    expect(isParticipation(null)).toBe(false);
  });

  it('updates may name their backend and a fallback, strictly', () => {
    const weights = encodeWeights(new Float32Array(4), [{ name: 'w', shape: [4] }]);
    const meta = { runId: 'r', round: 1, clusterIndex: 0, taskId: 't', numSamples: 10, trainLoss: 0.3, weights };
    expect(isUpdatePayload({ ...meta, backend: 'wasm' })).toBe(true);
    expect(isUpdatePayload({ ...meta, backend: 'wasm', fallback: { from: 'webgl', reason: 'non-finite loss' } })).toBe(true);
    expect(isUpdatePayload({ ...meta, backend: 'tpu' })).toBe(false);
    expect(isUpdatePayload({ ...meta, fallback: { from: 'webgl' } })).toBe(false);
    expect(isUpdatePayload({ ...meta, fallback: { from: 'webgl', reason: '' } })).toBe(false);
    expect(isUpdatePayload({ ...meta, fallback: { from: 'webgl', reason: 'x'.repeat(301) } })).toBe(false);
    expect(isUpdatePayload({ ...meta, fallback: { from: 'webgl', reason: 'lost', extra: 1 } })).toBe(false);
  });

  it('errors carry a code from the closed list', () => {
    const e = protocolError('FEDTSA_ERR_SHAPE_MISMATCH', 'length 3, expected 4');
    expect(e.message).toContain(ERROR_CODES.FEDTSA_ERR_SHAPE_MISMATCH);
    expect(isErrorCode(e.code)).toBe(true);
    expect(isErrorCode('FEDTSA_ERR_NOPE')).toBe(false);
  });
});
