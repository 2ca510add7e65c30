/** A completed round's record, from what the engine kept during the round and what the aggregation worker returned. */
import type { ClientUpdate } from '@fedtsa/core/strategy/types';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import type { ClusteringSnapshot, RoundRecord } from '../store/types.ts';
import type { AggregateRequest, AggregateResult } from './aggregator-messages.ts';

export interface RoundFacts {
  runId: string;
  round: number;
  startedAt: number;
  participants: number;
  incidents: RoundIncident[];
  clustering: ClusteringSnapshot;
  /** The updates that went into Stage 1. */
  updates: readonly ClientUpdate[];
  result: AggregateResult;
  /** Round 1 only: the starting models' scores. */
  start: AggregateResult | undefined;
  limits: AggregateRequest['limits'];
  /** Each cluster's median update distance (the next round's arrival reference). */
  medians: ReadonlyMap<number, number>;
}

export function buildRoundRecord(f: RoundFacts): RoundRecord {
  const clusters = f.result.models.map((m) => {
    const metric = f.result.metrics.find((x) => x.clusterIndex === m.clusterIndex);
    const startMetric = f.start?.metrics.find((x) => x.clusterIndex === m.clusterIndex);
    return {
      clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, members: m.memberIds.length,
      updates: f.updates.filter((u) => u.clusterIndex === m.clusterIndex).length,
      accuracy: metric?.accuracy ?? 0, loss: metric?.loss ?? 0,
      ...(startMetric ? { startAccuracy: startMetric.accuracy, startLoss: startMetric.loss } : {}),
      ...(f.medians.has(m.clusterIndex) ? { medianDistance: f.medians.get(m.clusterIndex) } : {}),
      modelChange: f.result.changes.find((c) => c.clusterIndex === m.clusterIndex)?.change,
      maxChange: f.limits.find((l) => l.clusterIndex === m.clusterIndex)?.maxChange,
    };
  });
  const members = clusters.reduce((sum, c) => sum + c.members, 0);
  return {
    runId: f.runId, round: f.round, startedAt: f.startedAt, closedAt: Date.now(),
    stage1Ms: f.result.stage1Ms, stage2Ms: f.result.stage2Ms, stage2Stats: f.result.stage2Stats,
    participants: f.participants, updatesAccepted: f.updates.length, updatesRefused: f.incidents.filter((i) => i.kind === 'update-refused' || i.kind === 'update-dropped').length,
    clusters, meanAccuracy: clusters.reduce((sum, c) => sum + c.accuracy * c.members, 0) / Math.max(1, members), clustering: f.clustering,
    incidents: f.incidents,
  };
}
