/**
 * The run the fuzz drill attacks, held with round 2 open: an honest client, and P, a raw client
 * that echoes its task (round 1) and then holds round 2 open until the drill lets it echo again.
 */
import { expect } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack } from '@fedtsa/protocol/errors';
import type { TrainingTask } from '@fedtsa/protocol/events';
import type { RunEngine } from '../runs/run-engine.ts';
import { ADMIN, FAST_SETTINGS, until } from '../test-helpers.ts';
import type { VirtualClient } from '../virtual-client/virtual-client.ts';
import { echoUpdate, sha, welcomed, type DrillHarness } from './drill-client.ts';

export interface FuzzRun {
  id: string;
  joinToken: string;
  engine: RunEngine;
  honest: VirtualClient;
  p: Socket;
  /** The demo shard P was dealt, which its echoed updates claim. */
  pSamples: number;
  /** P's round-2 task, left unanswered. */
  task2: TrainingTask;
  /** Once set, P echoes every task it gets. */
  pEchoes: boolean;
}

export async function openRoundTwo(drill: DrillHarness): Promise<FuzzRun> {
  const { coordinator, api, rawClient } = drill;
  const created = await api('POST', '/api/runs', {
    name: 'fuzz', settings: { ...FAST_SETTINGS, rounds: 3, minClientsToStart: 2, roundDeadlineMs: 120_000, stage2: { enabled: false } },
  });
  const { id, joinToken } = created.body as { id: string; joinToken: string };
  const engine = coordinator.registry.get(id)!;

  const honest = drill.virtualClient({ runId: id, joinToken, samplesPerSec: 500, label: 'honest' });
  const p = rawClient(id, joinToken);
  const pTasks: TrainingTask[] = [];
  const run = { id, joinToken, engine, honest, p, pSamples: 1, pEchoes: false };
  p.on('task', (t: TrainingTask) => {
    pTasks.push(t);
    if (run.pEchoes) p.emit('update', echoUpdate(t, run.pSamples), () => {});
  });
  // P claims the size of the demo shard it was dealt (shards differ in size; a larger claim is refused).
  run.pSamples = (await welcomed(p)).demoShard?.samples ?? 1;
  expect(((await p.timeout(5000).emitWithAck('capability', { samplesPerSec: 500, backend: 'node' })) as Ack<unknown>).ok).toBe(true);
  await until(() => coordinator.store.listClients(id).filter((c) => c.samplesPerSec > 0).length === 2, 20_000, 'both clients ready');
  await api('POST', `/api/runs/${id}/start`);
  await until(() => pTasks.length >= 1, 20_000, "P's round-1 task");
  expect(((await p.timeout(5000).emitWithAck('update', echoUpdate(pTasks[0]!, run.pSamples))) as Ack<unknown>).ok).toBe(true);
  await until(() => engine.record.completedRound >= 1 && pTasks.length >= 2 && honest.acceptedRounds.includes(2), 30_000, 'round 2 open with the honest update in');
  const task2 = pTasks[1]!;
  expect(task2.round).toBe(2);
  return Object.assign(run, { task2 }); // the object P's task handler reads, so setting pEchoes takes effect
}

/** The round-1 models as saved, the live models as held and as served, and where the run stands. */
export async function modelSnapshot(drill: DrillHarness, run: FuzzRun) {
  const { coordinator, url, api } = drill;
  const { id, engine } = run;
  const saved = coordinator.store.listRounds(id)[0]!.clusters.map((c) => sha(coordinator.store.readModelBytes(id, 1, c.clusterIndex)!));
  const live = engine.clusterModels().map((m) => sha(m.weights));
  const served = await Promise.all(engine.clusterModels().map(async (m) => {
    const res = await fetch(`${url}/api/runs/${id}/clusters/${m.clusterIndex}/weights.bin`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return sha(new Uint8Array(await res.arrayBuffer()));
  }));
  const now = (await api('GET', `/api/runs/${id}`)).body as { state: string; completedRound: number; currentRound: number };
  return { saved, live, served, state: now.state, completedRound: now.completedRound, currentRound: now.currentRound };
}
