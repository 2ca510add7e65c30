/**
 * Every update is checked before it can touch a model: the right run, round and cluster, a
 * sample claim within what the client holds, exactly the cluster model's manifest and length
 * (the wire's part, here), then the core's arrival check (screening/arrival.ts): only finite
 * values, and a distance from the model the client was given within a multiple of the
 * cluster's reference.
 */
import { screenArrival } from '@fedtsa/core/screening/arrival';
import { decodeWeights, manifestSize, sameManifest, type ManifestEntry } from '@fedtsa/protocol/codec';
import { protocolError, type ProtocolError } from '@fedtsa/protocol/errors';
import type { UpdatePayload } from '@fedtsa/protocol/messages';

export interface UpdateExpectation {
  runId: string;
  round: number;
  clusterIndex: number;
  manifest: ManifestEntry[];
  /** The weights the client was sent this round. */
  sent: Float32Array;
  /** The cluster's arrival reference (core round/memory.ts: previous round's median distance, or this round's so far); undefined = none yet. */
  reference: number | undefined;
  normMultiple: number;
  /** The samples the client holds (its demo shard, or the own data it declared): its numSamples may not exceed it. */
  maxSamples: number;
}

export type UpdateCheck = { ok: true; weights: Float32Array; distance: number } | { ok: false; error: ProtocolError };

export function checkUpdate(payload: UpdatePayload, expected: UpdateExpectation): UpdateCheck {
  if (payload.runId !== expected.runId) return { ok: false, error: protocolError('FEDTSA_ERR_RUN_NOT_FOUND', `update for run ${payload.runId}`) };
  if (payload.round !== expected.round) {
    return { ok: false, error: protocolError('FEDTSA_ERR_STALE_ROUND', `update for round ${payload.round}, the open round is ${expected.round}`) };
  }
  if (payload.clusterIndex !== expected.clusterIndex) {
    return { ok: false, error: protocolError('FEDTSA_ERR_WRONG_CLUSTER', `update for cluster ${payload.clusterIndex}, the client trains cluster ${expected.clusterIndex}`) };
  }
  if (payload.numSamples > expected.maxSamples) {
    return { ok: false, error: protocolError('FEDTSA_ERR_BAD_CLAIM', `numSamples ${payload.numSamples} exceeds the ${expected.maxSamples} samples the client holds`) };
  }
  const m = payload.weights.manifest;
  if (!sameManifest(m, expected.manifest)) return { ok: false, error: protocolError('FEDTSA_ERR_SHAPE_MISMATCH', 'the manifest differs from the cluster model') };
  let weights: Float32Array;
  try {
    weights = decodeWeights(payload.weights);
  } catch {
    // The codec's own message names its internals; the client needs the rule it broke.
    const bytes = payload.weights.data.byteLength;
    return { ok: false, error: protocolError('FEDTSA_ERR_SHAPE_MISMATCH', `${bytes} bytes of ${payload.weights.dtype} do not hold the manifest's ${manifestSize(expected.manifest)} values`) };
  }
  if (weights.length !== manifestSize(expected.manifest) || weights.length !== expected.sent.length) {
    return { ok: false, error: protocolError('FEDTSA_ERR_SHAPE_MISMATCH', `${weights.length} values, expected ${expected.sent.length}`) };
  }
  const arrival = screenArrival(weights, expected.sent, expected.reference, expected.normMultiple);
  if (!arrival.ok) return { ok: false, error: protocolError(arrival.reason === 'norm' ? 'FEDTSA_ERR_NORM_TOO_LARGE' : 'FEDTSA_ERR_NON_FINITE', arrival.message) };
  return { ok: true, weights, distance: arrival.distance };
}
