/**
 * Fault drill 1 against a real coordinator (port 0, real Fashion-MNIST, real sockets): a quarter
 * of the clients vanish mid-round; the round closes at its deadline with the rest.
 */
import { describe, expect, it } from 'vitest';
import type { TrainingTask, Welcome } from '@fedtsa/protocol/events';
import type { RoundRecord } from '../store/types.ts';
import { FAST_SETTINGS, until } from '../test-helpers.ts';
import type { VirtualClient } from '../virtual-client/virtual-client.ts';
import { vanish, useDrillHarness } from './drill-client.ts';

const harness = useDrillHarness();

describe('fault drills', () => {
  it('drill 1: a quarter of the clients vanish mid-round; the round closes at its deadline with the rest and the run completes', async () => {
    const { coordinator, api, rawClient } = harness();
    const DEADLINE = 8000;
    const SLACK = 6000; // evaluation of the starting models, Stage 1 and evaluation after the deadline, on a shared machine
    const created = await api('POST', '/api/runs', {
      name: 'vanish', settings: { ...FAST_SETTINGS, rounds: 3, minClientsToStart: 6, roundDeadlineMs: DEADLINE, stage2: { enabled: false } },
    });
    expect(created.status).toBe(201);
    const { id, joinToken } = created.body as { id: string; joinToken: string };
    const engine = coordinator.registry.get(id)!;

    // Two speed tiers (two clusters); one client of each tier will vanish.
    const speeds = [1500, 1600, 1400, 1550, 40, 44, 36, 42];
    const vanishing = new Set([3, 7]);
    const survivors: VirtualClient[] = [];
    const vanished: { clientId: string; taskRound: number; vanishedAt: number }[] = [];
    for (const [i, speed] of speeds.entries()) {
      if (!vanishing.has(i)) {
        survivors.push(harness().virtualClient({ runId: id, joinToken, samplesPerSec: speed, label: `c${i}` }));
        continue;
      }
      const s = rawClient(id, joinToken);
      const v = { clientId: '', taskRound: 0, vanishedAt: 0 };
      vanished.push(v);
      s.on('welcome', (w: Welcome) => {
        v.clientId = w.clientId;
        s.emit('capability', { samplesPerSec: speed, backend: 'node', label: `vanishing-${i}` }, () => {});
      });
      s.on('task', (t: TrainingTask) => {
        if (v.taskRound) return;
        v.taskRound = t.round;
        v.vanishedAt = Date.now();
        vanish(s);
      });
    }
    await until(() => coordinator.store.listClients(id).filter((c) => c.samplesPerSec > 0).length === 8, 30_000, 'eight clients reporting their capability');
    expect((await api('POST', `/api/runs/${id}/start`)).status).toBe(200);

    // Both vanish on receiving their round-1 task; the coordinator notices while round 1 is still open.
    await until(() => vanished.every((v) => v.taskRound === 1), 10_000, 'the vanishing clients to get their task');
    await until(() => vanished.every((v) => coordinator.store.getClient(id, v.clientId)?.status === 'disconnected'), 5000, 'the coordinator to see them gone');
    expect(engine.record.completedRound).toBe(0);
    expect(engine.currentRound).toBe(1);

    await until(() => engine.record.completedRound >= 1, DEADLINE + SLACK + 5000, 'round 1 to close');
    const rounds1 = (await api('GET', `/api/runs/${id}/rounds`)).body as unknown as RoundRecord[];
    const r1 = rounds1[0]!;
    const r1Ms = r1.closedAt - r1.startedAt;
    expect(r1.participants).toBe(8);
    expect(r1.updatesAccepted).toBe(6);
    expect(r1.clustering.clusters).toHaveLength(2);
    expect(r1Ms).toBeGreaterThanOrEqual(DEADLINE); // it waited for the vanished two...
    expect(r1Ms).toBeLessThanOrEqual(DEADLINE + SLACK); // ...but not much longer

    await until(() => engine.record.state === 'completed', 60_000, 'the run to complete');
    const rounds = (await api('GET', `/api/runs/${id}/rounds`)).body as unknown as RoundRecord[];
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    for (const r of rounds.slice(1)) {
      expect(r.participants).toBe(6);
      expect(r.updatesAccepted).toBe(6);
    }
    for (const vc of survivors) expect(vc.acceptedRounds).toEqual([1, 2, 3]);
    const clients = (await api('GET', `/api/runs/${id}/clients`)).body as unknown as { id: string; status: string }[];
    for (const v of vanished) expect(clients.find((c) => c.id === v.clientId)?.status).toBe('disconnected');
    console.log(`[drill 1] round 1 closed ${r1Ms} ms after it started (deadline ${DEADLINE} ms); `
      + `rounds 2-3 took ${rounds.slice(1).map((r) => r.closedAt - r.startedAt).join(' / ')} ms; accepted ${rounds.map((r) => r.updatesAccepted).join('/')}`);
  }, 90_000);
});
