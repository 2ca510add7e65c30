/**
 * The participation policy and a backend's new speed, against a real coordinator (port 0, real
 * sockets): a participant that reports it cannot take part is withdrawn and the round closes as
 * soon as the others have returned, long before its deadline; it sits out until it reports
 * available again. A clustered client that reports a new speed is clustered again next round.
 */
import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack } from '@fedtsa/protocol/errors';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import type { TrainingTask, Welcome } from '@fedtsa/protocol/events';
import type { RoundRecord } from '../store/types.ts';
import { FAST_SETTINGS, until } from '../test-helpers.ts';
import { echoUpdate, useDrillHarness, welcomed } from '../drills/drill-client.ts';

const harness = useDrillHarness();
const DEADLINE_MS = 120_000;

interface Joined { socket: Socket; welcome: Welcome; tasks: TrainingTask[] }

/** A raw client that has reported `samplesPerSec` and keeps every task it is sent. */
async function join(runId: string, joinToken: string, samplesPerSec: number): Promise<Joined> {
  const socket = harness().rawClient(runId, joinToken);
  const tasks: TrainingTask[] = [];
  socket.on('task', (t: TrainingTask) => tasks.push(t));
  const welcome = await welcomed(socket);
  const ack = await socket.timeout(10_000).emitWithAck('capability', { samplesPerSec, backend: 'wasm' }) as Ack<unknown>;
  expect(ack.ok).toBe(true);
  return { socket, welcome, tasks };
}

async function taskOf(c: Joined, round: number): Promise<TrainingTask> {
  await until(() => c.tasks.some((t) => t.round === round), 20_000, `the task of round ${round}`);
  return c.tasks.find((t) => t.round === round) as TrainingTask;
}

const send = (c: Joined, task: TrainingTask) =>
  c.socket.timeout(10_000).emitWithAck('update', echoUpdate(task, c.welcome.demoShard?.samples ?? 1)) as Promise<Ack<unknown>>;

async function createRun(settings: Record<string, unknown>): Promise<{ id: string; joinToken: string }> {
  const created = await harness().api('POST', '/api/runs', {
    name: 'participation', start: true,
    settings: { ...FAST_SETTINGS, minClientsToStart: 2, minClientsPerCluster: 1, roundDeadlineMs: DEADLINE_MS, stage2: { enabled: false }, ...settings },
  });
  expect(created.status).toBe(201);
  return created.body as { id: string; joinToken: string };
}

const rounds = async (id: string) => (await harness().api('GET', `/api/runs/${id}/rounds`)).body as unknown as RoundRecord[];

describe('participation policy', () => {
  it('withdraws a participant that cannot take part: the round closes once the others returned, and it rejoins when available', async () => {
    const { id, joinToken } = await createRun({ rounds: 2, requireCharging: true });
    const a = await join(id, joinToken, 100);
    const b = await join(id, joinToken, 110);
    expect(b.welcome.participation).toEqual({ requireCharging: true, requireVisible: false });
    const [taskA, taskB] = [await taskOf(a, 1), await taskOf(b, 1)];

    b.socket.emit('participation', { available: false, reasons: ['not-charging'] });
    // Its turn is over: an update it sends anyway is refused, and the round waits only for A.
    const late = await send(b, taskB);
    expect(late.ok ? undefined : late.error.code).toBe('FEDTSA_ERR_WITHDRAWN');
    expect(await rounds(id)).toEqual([]);
    expect((await send(a, taskA)).ok).toBe(true);

    await until(async () => (await rounds(id)).length === 1, 30_000, 'round 1 to close');
    const [r1] = await rounds(id);
    expect(r1!.closedAt - r1!.startedAt).toBeLessThan(DEADLINE_MS / 4);
    expect(r1!.updatesAccepted).toBe(1);
    expect(r1!.incidents).toContainEqual(expect.objectContaining<Partial<RoundIncident>>({ kind: 'participant-withdrew', clientId: b.welcome.clientId }));
    const clients = (await harness().api('GET', `/api/runs/${id}/clients`)).body as unknown as { id: string; status: string }[];
    expect(clients.find((c) => c.id === b.welcome.clientId)?.status).toBe('unavailable');
    // One available client is fewer than minClientsToStart: round 2 waits for B.
    expect(harness().coordinator.registry.get(id)?.roundDeadline).toBeUndefined();

    b.socket.emit('participation', { available: true });
    const [task2A, task2B] = [await taskOf(a, 2), await taskOf(b, 2)];
    const again = (await harness().api('GET', `/api/runs/${id}/clients`)).body as unknown as { id: string; status: string }[];
    expect(again.find((c) => c.id === b.welcome.clientId)?.status).toBe('connected');
    expect((await send(b, task2B)).ok).toBe(true);
    expect((await send(a, task2A)).ok).toBe(true);
    await until(async () => (await rounds(id)).length === 2, 30_000, 'round 2 to close');
    expect((await rounds(id))[1]!.updatesAccepted).toBe(2);
  });

  it('closes a round early when every participant withdrew', async () => {
    const { id, joinToken } = await createRun({ rounds: 1 });
    const a = await join(id, joinToken, 100);
    const b = await join(id, joinToken, 110);
    await Promise.all([taskOf(a, 1), taskOf(b, 1)]);
    a.socket.emit('participation', { available: false, reasons: ['page-hidden'] });
    b.socket.emit('participation', { available: false, reasons: ['not-charging', 'page-hidden'] });
    await until(async () => (await rounds(id)).length === 1, 30_000, 'round 1 to close');
    const [r1] = await rounds(id);
    expect(r1!.closedAt - r1!.startedAt).toBeLessThan(DEADLINE_MS / 4);
    expect(r1!.updatesAccepted).toBe(0);
    expect(r1!.incidents?.filter((i) => i.kind === 'participant-withdrew').map((i) => i.clientId).sort())
      .toEqual([a.welcome.clientId, b.welcome.clientId].sort());
  });

  it('refuses a malformed participation report with a code', async () => {
    const { id, joinToken } = await createRun({ rounds: 1, minClientsToStart: 5 });
    const a = await join(id, joinToken, 100);
    for (const bad of [{ available: false }, { available: false, reasons: [] }, { available: true, reasons: ['page-hidden'] }, { available: false, reasons: ['asleep'] }]) {
      const refused = new Promise<{ code: string }>((resolve) => a.socket.once('refused', resolve));
      a.socket.emit('participation', bad);
      expect((await refused).code).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    }
  });

  it('clusters again with the new speed a clustered client reports (a backend fallback)', async () => {
    const { id, joinToken } = await createRun({ rounds: 2 });
    const a = await join(id, joinToken, 100);
    const b = await join(id, joinToken, 110);
    const [taskA, taskB] = [await taskOf(a, 1), await taskOf(b, 1)];
    // B's backend failed; its fallback is 50 times slower. Reported before round 2 starts.
    const ack = await b.socket.timeout(10_000).emitWithAck('capability', { samplesPerSec: 2, backend: 'cpu' }) as Ack<unknown>;
    expect(ack.ok).toBe(true);
    expect((await send(a, taskA)).ok).toBe(true);
    expect((await send(b, taskB)).ok).toBe(true);
    await Promise.all([taskOf(a, 2), taskOf(b, 2)]);
    await until(async () => (await rounds(id)).length === 1, 30_000, 'round 1 to close');
    const engine = harness().coordinator.registry.get(id)!;
    const [r1] = await rounds(id);
    // Round 1 clustered 100 and 110 samples/s; round 2 clusters 100 and 2: the density moved down.
    const lowest = (grid: { x: number[] }) => Math.min(...grid.x);
    expect(lowest(engine.clusteringSnapshot!.grid)).toBeLessThan(lowest(r1!.clustering.grid));
  });
});
