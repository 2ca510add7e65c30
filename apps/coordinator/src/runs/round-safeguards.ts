/**
 * The coordinator's words for what the core's round close decided (round/close.ts): each
 * figure of its outcome becomes a round incident (what the dashboard lists and the log says at
 * warn level), and each dropped update a refusal its client receives with the round's end.
 */
import type { RoundOutcome } from '@fedtsa/core/round/close';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import { protocolError, type ProtocolError } from '@fedtsa/protocol/errors';

/** The refusal each dropped update's client receives, keyed by client. */
export function dropRefusals(outcome: Pick<RoundOutcome, 'dropped'>): Map<string, ProtocolError> {
  return new Map(outcome.dropped.map((d) => [d.clientId, protocolError(d.reason === 'norm' ? 'FEDTSA_ERR_NORM_TOO_LARGE' : 'FEDTSA_ERR_DIRECTION', d.message)]));
}

/** The close's decisions as incidents, in the order they were taken: drops, direction checks skipped, capped claims, rollbacks, excluded teachers. */
export function outcomeIncidents(outcome: Pick<RoundOutcome, 'dropped' | 'unscreened' | 'capped' | 'rollbacks' | 'teachers'>, minConsensus: number): RoundIncident[] {
  const refusals = dropRefusals(outcome);
  const incidents: RoundIncident[] = outcome.dropped.map((d) => {
    const error = refusals.get(d.clientId) as ProtocolError;
    return { kind: 'update-dropped', clusterIndex: d.clusterIndex, clientId: d.clientId, code: error.code, message: error.message, numbers: d.numbers };
  });
  for (const u of outcome.unscreened) {
    incidents.push({
      kind: 'direction-check-skipped', clusterIndex: u.clusterIndex,
      message: `cluster ${u.clusterIndex}'s ${u.updates} updates do not agree on a direction (median cosine ${u.consensus.toFixed(3)} < ${minConsensus}): `
        + 'the direction screen did not run on them this round',
      numbers: { consensus: u.consensus, minConsensus, updates: u.updates },
    });
  }
  for (const c of outcome.capped) {
    incidents.push({
      kind: 'weight-capped', clusterIndex: c.clusterIndex, clientId: c.clientId,
      message: `averaging weight ${c.weight.toPrecision(4)} instead of the claimed ${c.claimed} samples`, numbers: { claimed: c.claimed, weight: c.weight },
    });
  }
  for (const r of outcome.rollbacks) {
    incidents.push({
      kind: r.step === 'stage1' ? 'stage1-rolled-back' : 'stage2-rolled-back', clusterIndex: r.clusterIndex,
      message: `${r.step === 'stage1' ? 'Stage 1 rolled back: the cluster keeps its previous model' : 'Stage 2 rolled back: the cluster keeps its Stage 1 model'}; ${r.reason}`,
      numbers: { change: r.change, maxChange: r.maxChange },
    });
  }
  for (const t of outcome.teachers) {
    if (t.teaches) continue;
    incidents.push({
      kind: 'teacher-excluded', clusterIndex: t.clusterIndex,
      message: `cluster ${t.clusterIndex} teaches no one in Stage 2 this round: ${t.reason ?? 'it failed the teacher screen'}${t.learned ? '' : '; it did not learn either'}`,
      numbers: { maxAbsLogit: t.maxAbsLogit, poolAccuracy: t.poolAccuracy, skill: t.skill, lossRatio: t.lossRatio },
    });
  }
  return incidents;
}
