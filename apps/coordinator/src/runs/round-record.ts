/** A completed round's record, from what the engine kept during the round and what the aggregation worker returned. */
import type { RoundMemory } from '@fedtsa/core/round/memory';
import { aggregateEvaluations, meanAccuracy, type ClientEvaluation, type ClusterScore } from '@fedtsa/core/round/score';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import type { ClusteringSnapshot, RoundRecord } from '../store/types.ts';
import type { AggregateResult } from './aggregator-messages.ts';

export interface RoundFacts {
  runId: string;
  round: number;
  startedAt: number;
  /** When the close began: the last update arrived, the last participant withdrew, or the deadline passed. */
  clientsDoneAt: number;
  participants: number;
  incidents: RoundIncident[];
  clustering: ClusteringSnapshot;
  result: AggregateResult;
  /** Round 1 only: the starting models' scores. */
  start: ClusterScore[] | undefined;
  /** After the round: each cluster's median update distance (the next round's arrival reference). */
  memory: RoundMemory;
  /** Federated evaluation: the clients' scores, used when the server has no test set for the task. */
  clientEvaluations: readonly ClientEvaluation[];
}

export function buildRoundRecord(f: RoundFacts): RoundRecord {
  const byClients = f.result.metrics.length === 0 ? aggregateEvaluations(f.clientEvaluations) : undefined;
  const clusters = f.result.models.map((m) => {
    const metric = byClients ? byClients.get(m.clusterIndex) : f.result.metrics.find((x) => x.clusterIndex === m.clusterIndex);
    const startMetric = f.start?.find((x) => x.clusterIndex === m.clusterIndex);
    const medianDistance = f.memory.medianDistance(m.clusterIndex);
    return {
      clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, members: m.memberIds.length,
      updates: f.result.accepted.filter((u) => u.clusterIndex === m.clusterIndex).length,
      accuracy: metric?.accuracy ?? 0, loss: metric?.loss ?? 0,
      ...(startMetric ? { startAccuracy: startMetric.accuracy, startLoss: startMetric.loss } : {}),
      ...(medianDistance !== undefined ? { medianDistance } : {}),
      modelChange: f.result.changes.find((c) => c.clusterIndex === m.clusterIndex)?.change,
      maxChange: f.result.limits.find((l) => l.clusterIndex === m.clusterIndex)?.maxChange,
      ...(byClients ? { evaluatedBy: 'clients' as const, evaluatedImages: metric?.count ?? 0 } : {}),
    };
  });
  return {
    runId: f.runId, round: f.round, startedAt: f.startedAt, clientsDoneAt: f.clientsDoneAt, closedAt: Date.now(),
    stage1Ms: f.result.stage1Ms, stage2Ms: f.result.stage2Ms, stage2Stats: f.result.serverStepStats,
    participants: f.participants, updatesAccepted: f.result.accepted.length, updatesRefused: f.incidents.filter((i) => i.kind === 'update-refused' || i.kind === 'update-dropped').length,
    clusters, meanAccuracy: meanAccuracy(byClients ? clusters.filter((c) => (c.evaluatedImages ?? 0) > 0) : clusters), clustering: f.clustering,
    incidents: f.incidents,
  };
}
