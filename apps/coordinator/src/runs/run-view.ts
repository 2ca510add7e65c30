/**
 * A run as the REST API and the dashboard show it, in the protocol's dashboard types: the
 * summary (RunSummary), with its rounds for the dashboard's feed (DashboardRun), and its
 * clients (the live ones by default, connected, training, or gone for less than the client
 * grace: see RunStore.listLiveClients; every client ever seen with `all`), and its synthetic
 * pool's background generation.
 */
import type { ClientSummary, DashboardRun, RunSummary } from '@fedtsa/protocol/dashboard';
import type { ClientRecord, RunStore } from '../store/types.ts';
import type { RunEngine } from './run-engine.ts';
import { describeWidthReasons } from './width-reasons.ts';

const clientSummary = ({ secretHash: _secret, runId: _run, ...c }: ClientRecord): ClientSummary => c;

export function listRunClients(store: RunStore, runId: string, all: boolean, now = Date.now()): ClientSummary[] {
  return (all ? store.listClients(runId) : store.listLiveClients(runId, now)).map(clientSummary);
}

export function describeRun(engine: RunEngine, store: RunStore): RunSummary {
  const run = engine.record;
  const snapshot = engine.clusteringSnapshot;
  const speeds = new Map(store.listClients(run.id).map((c) => [c.id, c.samplesPerSec]));
  const clustering = snapshot ? { ...snapshot, widthReasons: describeWidthReasons(snapshot, speeds, run.settings) } : null;
  return {
    id: run.id, name: run.name, state: run.state, joinToken: run.joinToken, settings: run.settings,
    completedRound: run.completedRound, currentRound: engine.currentRound, roundDeadline: engine.roundDeadline ?? null,
    createdAt: run.createdAt, clustering,
    clients: listRunClients(store, run.id, false),
    pool: engine.poolProgress,
  };
}

/** The summary with the run's rounds, without their clustering snapshots: the run carries the current one. */
export function describeDashboardRun(engine: RunEngine, store: RunStore): DashboardRun {
  return {
    ...describeRun(engine, store),
    rounds: store.listRounds(engine.record.id).map(({ clustering: _c, runId: _r, ...r }) => r),
  };
}
