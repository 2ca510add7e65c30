/**
 * The coordinator's use of the core's safeguards at the close of a round, each turning the
 * core's plain-figure result into the round's incidents (what the dashboard lists and the log
 * says at warn level):
 *   - screenUpdates: the leave-one-out norm and median-direction screen of each cluster's updates;
 *   - capClaims: Stage 1's averaging weights from the clients' sample claims, capped;
 *   - changeLimits: how far each cluster model may move this round (round invariants);
 *   - resultIncidents: the rollbacks and excluded teachers the aggregation worker reports.
 */
import { cappedWeights } from '@fedtsa/core/screening/averaging-weights';
import { changeLimit, CHANGE_HISTORY } from '@fedtsa/core/screening/invariants';
import { screenClusterUpdates } from '@fedtsa/core/screening/update-screen';
import type { ClientUpdate, ClusterModel } from '@fedtsa/core/strategy/types';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import { protocolError, type ProtocolError } from '@fedtsa/protocol/errors';
import type { AggregateRequest, AggregateResult } from './aggregator-messages.ts';
import type { RunSettings } from './settings.ts';

const byCluster = <T extends { clusterIndex: number }>(items: Iterable<T>): Map<number, T[]> => {
  const out = new Map<number, T[]>();
  for (const x of items) {
    const list = out.get(x.clusterIndex);
    if (list) list.push(x);
    else out.set(x.clusterIndex, [x]);
  }
  return out;
};

/** Screens every cluster's accepted updates; returns the refusals to drop, keyed by client, and their incidents. */
export function screenUpdates(
  updates: Iterable<ClientUpdate>, sent: ReadonlyMap<number, Float32Array>, distances: ReadonlyMap<string, number>, settings: RunSettings,
): { dropped: Map<string, ProtocolError>; incidents: RoundIncident[] } {
  const dropped = new Map<string, ProtocolError>();
  const incidents: RoundIncident[] = [];
  for (const [clusterIndex, list] of byCluster(updates)) {
    const result = screenClusterUpdates(sent.get(clusterIndex) as Float32Array,
      list.map((u) => ({ clientId: u.clientId, weights: u.weights, distance: distances.get(u.clientId) as number })),
      { normMultiple: settings.normMultiple, minCosine: settings.minCosine });
    for (const d of result.dropped) {
      const error = protocolError(d.reason === 'norm' ? 'FEDTSA_ERR_NORM_TOO_LARGE' : 'FEDTSA_ERR_DIRECTION', d.message);
      dropped.set(d.clientId, error);
      incidents.push({ kind: 'update-dropped', clusterIndex, clientId: d.clientId, code: error.code, message: error.message, numbers: d.numbers });
    }
  }
  return { dropped, incidents };
}

/** The updates with their capped averaging weights as numSamples (same order), and an incident per capped claim. */
export function capClaims(updates: readonly ClientUpdate[], settings: RunSettings): { updates: ClientUpdate[]; incidents: RoundIncident[] } {
  const weights = new Map<string, number>();
  for (const list of byCluster(updates).values()) {
    const w = cappedWeights(list.map((u) => u.numSamples), { claimMultiple: settings.claimMultiple, maxClientShare: settings.maxClientShare });
    list.forEach((u, i) => weights.set(u.clientId, w[i] as number));
  }
  const incidents: RoundIncident[] = [];
  const capped = updates.map((u) => {
    const weight = weights.get(u.clientId) as number;
    if (weight < u.numSamples) {
      incidents.push({
        kind: 'weight-capped', clusterIndex: u.clusterIndex, clientId: u.clientId,
        message: `averaging weight ${weight.toPrecision(4)} instead of the claimed ${u.numSamples} samples`, numbers: { claimed: u.numSamples, weight },
      });
    }
    return { ...u, numSamples: weight };
  });
  return { updates: capped, incidents };
}

/** Each cluster's change limit from its recorded round-to-round changes (`history`, oldest first). */
export function changeLimits(models: readonly ClusterModel[], history: ReadonlyMap<number, number[]>, settings: RunSettings): AggregateRequest['limits'] {
  return models.map((m) => ({
    clusterIndex: m.clusterIndex,
    ...changeLimit(m.weights, (history.get(m.clusterIndex) ?? []).slice(-CHANGE_HISTORY), { changeMultiple: settings.changeMultiple, firstChangeOfNorm: settings.firstChangeOfNorm }),
  }));
}

export function resultIncidents(result: AggregateResult): RoundIncident[] {
  const incidents: RoundIncident[] = result.rollbacks.map((r) => ({
    kind: r.step === 'stage1' ? 'stage1-rolled-back' as const : 'stage2-rolled-back' as const, clusterIndex: r.clusterIndex,
    message: `${r.step === 'stage1' ? 'Stage 1 rolled back: the cluster keeps its previous model' : 'Stage 2 rolled back: the cluster keeps its Stage 1 model'}; ${r.reason}`,
    numbers: { change: r.change, maxChange: r.maxChange },
  }));
  for (const t of result.teachers) {
    if (t.teaches) continue;
    incidents.push({
      kind: 'teacher-excluded', clusterIndex: t.clusterIndex,
      message: `cluster ${t.clusterIndex} teaches no one in Stage 2 this round: ${t.reason ?? 'it failed the teacher screen'}${t.learned ? '' : '; it did not learn either'}`,
      numbers: { maxAbsLogit: t.maxAbsLogit, poolAccuracy: t.poolAccuracy, skill: t.skill, lossRatio: t.lossRatio },
    });
  }
  return incidents;
}
