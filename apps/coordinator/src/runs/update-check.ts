/**
 * Every update is checked before it can touch a model: the right run, round and cluster,
 * exactly the cluster model's manifest and length, only finite values, and a distance from
 * the model the client was given within a multiple of the cluster's median.
 */
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
  /** Median update distance in this cluster (previous round or this one so far); undefined = no reference yet. */
  medianDistance: number | undefined;
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
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    const v = weights[i] as number;
    if (!Number.isFinite(v)) return { ok: false, error: protocolError('FEDTSA_ERR_NON_FINITE', `value ${i} is ${v}`) };
    const d = v - (expected.sent[i] as number);
    sum += d * d;
  }
  const distance = Math.sqrt(sum);
  if (expected.medianDistance !== undefined && expected.medianDistance > 0 && distance > expected.normMultiple * expected.medianDistance) {
    return {
      ok: false,
      error: protocolError('FEDTSA_ERR_NORM_TOO_LARGE', `distance ${distance.toExponential(3)} > ${expected.normMultiple} x median ${expected.medianDistance.toExponential(3)}`),
    };
  }
  return { ok: true, weights, distance };
}
