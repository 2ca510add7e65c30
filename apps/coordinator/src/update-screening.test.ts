/**
 * The update check when there is nothing to compare with yet: an attacker whose scaled update is
 * the first of round 1 is acknowledged on arrival (no reference exists) but dropped when the round
 * closes, and the round's median is kept in the round record so the next round (and a restarted
 * coordinator) refuses it on arrival.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWeights } from '@fedtsa/protocol/codec';
import type { Coordinator } from './app.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator, until } from './test-helpers.ts';
import { VirtualClient } from './virtual-client/virtual-client.ts';

let coordinator: Coordinator;
let url: string;
const clients: VirtualClient[] = [];

beforeAll(async () => {
  ({ coordinator, url } = await startCoordinator());
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await coordinator?.close();
});

describe('update screening', () => {
  it('drops a scaled first update at the close of round 1 and refuses it on arrival in round 2', async () => {
    const res = await fetch(`${url}/api/runs`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'screening', start: true, settings: { ...FAST_SETTINGS, rounds: 2, minClientsToStart: 3, stage2: { enabled: false } } }),
    });
    const { id, joinToken } = await res.json() as { id: string; joinToken: string };
    const refusals: { round: number; code: string }[] = [];
    const sentModels = new Map<number, Float32Array>();
    for (let i = 0; i < 3; i++) {
      const attacker = i === 0;
      let round = 0;
      clients.push(new VirtualClient({
        // 60 samples at 30 samples/s: the honest clients take 2 s, the attacker uploads at once, so it is first.
        url, runId: id, joinToken, samplesPerSec: 30, label: `c${i}`, emulateSpeed: !attacker,
        transformUpdate: (w, task) => {
          round = task.round;
          if (!attacker) return w;
          sentModels.set(task.round, decodeWeights(task.weights));
          return w.map((v) => v * 100);
        },
      }, { onRefused: (code) => { if (attacker) refusals.push({ round, code }); } }));
    }
    await until(() => coordinator.registry.get(id)!.record.state === 'completed', 120_000, 'the run to complete');
    const rounds = coordinator.store.listRounds(id);
    expect(rounds.map((r) => [r.updatesAccepted, r.updatesRefused])).toEqual([[2, 1], [2, 1]]);
    expect(refusals).toEqual([{ round: 1, code: 'FEDTSA_ERR_NORM_TOO_LARGE' }, { round: 2, code: 'FEDTSA_ERR_NORM_TOO_LARGE' }]);
    // Round 1's attacker was acknowledged on arrival, then told at the close; round 2's never was.
    expect(clients[0]!.acceptedRounds).toEqual([1]);
    for (const c of clients.slice(1)) expect(c.acceptedRounds).toEqual([1, 2]);
    const cluster = rounds[0]!.clusters[0]!;
    expect(rounds[0]!.clusters).toHaveLength(1);
    expect(cluster.medianDistance).toBeGreaterThan(0);
    // The honest updates' median, not the attacker's hundredfold one.
    const sent = sentModels.get(1)!;
    const norm = Math.sqrt(sent.reduce((s, v) => s + v * v, 0));
    expect(cluster.medianDistance!).toBeLessThan(norm);
  });
});
