/**
 * Fault drill: one client sends its update scaled by 100.
 *
 * One in-process coordinator (demo shards of 300 images), three runs with identical settings and
 * seeds, six VirtualClients each, joined one after another so that client i holds demo shard i
 * in every run:
 *   - baseline: all six honest;
 *   - attack, fast attacker: client ATTACKER multiplies every weight it uploads by 100, every
 *     round, and uploads as soon as it has trained (the honest clients take their emulated
 *     device time, 5 s), so it is the first update of round 1: the worst case, and one any
 *     attacker can arrange;
 *   - attack, paced attacker: the same attacker at the honest clients' pace, so its place in
 *     round 1 is the seeded task order's: the last (see ATTACKER);
 *   - control: client ATTACKER uploads NaNs instead (refused as non-finite): the same run without
 *     its contribution, i.e. what an attack whose every update is left out amounts to.
 * The update check (runs/update-check.ts, run-engine.ts) refuses on arrival an update whose
 * distance from the model it was sent exceeds normMultiple x the cluster's reference: the previous
 * round's median distance (kept in the round record, so it survives a restart), or this round's
 * once it has two updates. The first updates of a run have no reference, so when the round closes
 * every update is compared again with the median of the others in its cluster (leave-one-out) and
 * dropped beyond normMultiple x it; the client learns it from round-closed. The drill prints, per
 * round, the honest and the malicious distance and what the coordinator did with each, then
 * asserts for each attack:
 *   - every malicious update was refused with FEDTSA_ERR_NORM_TOO_LARGE (the server does not clip);
 *   - no honest update was refused;
 *   - the final member-weighted mean accuracy is within 0.01 of the control's: the same run
 *     without the attacker's updates. The baseline (the attacker honest) is reported beside it:
 *     leaving one client's shard out moves accuracy by itself, which no defence can undo.
 * Soft assertions: one failure does not hide the others' numbers.
 *
 *   npx vitest run --config vitest.drills.config.ts drills/scaled-update.drill.ts
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '@fedtsa/core/backend';
import { decodeWeights } from '@fedtsa/protocol/codec';
import type { Coordinator } from '../apps/coordinator/src/app.ts';
import type { RoundRecord } from '../apps/coordinator/src/store/types.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator, until } from '../apps/coordinator/src/test-helpers.ts';
import { VirtualClient } from '../apps/coordinator/src/virtual-client/virtual-client.ts';

const CLIENTS = 6;
/** With seed 7 the round-1 task order is clients 2 1 5 0 3 4: client 4 is the last to train and upload when it keeps pace. */
const ATTACKER = 4;
const SCALE = 100;
const ROUNDS = 5;
const SHARD = 300;
/** Reported speed: a 300-sample shard takes 5 s of emulated device time at width 1, twice what six clients take to train one after another here. */
const SPEED = 60;
const SETTINGS = {
  ...FAST_SETTINGS, rounds: ROUNDS, minClientsToStart: CLIENTS, expectedSamplesPerClient: SHARD, roundBudgetSec: 5, roundDeadlineMs: 12_000,
  learningRate: 0.05, evalSamples: 2000, seed: 7, stage2: { enabled: false },
};

type Scenario = 'baseline' | 'fast attacker' | 'paced attacker' | 'control';

interface RoundOutcome { round: number; honestDistance: number; sentDistance: number; outcome: string; message?: string }
interface RunResult {
  scenario: Scenario;
  runId: string;
  rounds: RoundRecord[];
  attacker: RoundOutcome[];
  /** Upload results in arrival order per round: client index and accepted or the refusal code. */
  arrivals: Map<number, string[]>;
  collateral: string[];
  shards: (number | null)[];
  seconds: number;
}

const distance = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
};

describe('scaled-update drill', () => {
  let coordinator: Coordinator | undefined;
  const clients: VirtualClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await coordinator?.close();
  });

  it(`refuses a client that scales its update by ${SCALE}, and accuracy stays within a point of the run without it`, async () => {
    await useBackend('wasm');
    // 300-image demo shards: 60-image ones learn too erratically to compare accuracies to a point.
    const started = await startCoordinator({ samplesPerShard: SHARD });
    coordinator = started.coordinator;
    const url = started.url;
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}${path}`, {
        method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<T>;
    };

    const runScenario = async (scenario: Scenario): Promise<RunResult> => {
      const t0 = Date.now();
      const run = await api<{ id: string; joinToken: string }>('POST', '/api/runs', { name: `scaled-update ${scenario}`, settings: SETTINGS, start: true });
      const attacker: RoundOutcome[] = [];
      const arrivals = new Map<number, string[]>();
      const collateral: string[] = [];
      const arrived = (round: number, i: number, what: string) => arrivals.set(round, [...(arrivals.get(round) ?? []), `${i}:${what}`]);
      const mine: VirtualClient[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const isAttacker = i === ATTACKER && (scenario === 'fast attacker' || scenario === 'paced attacker');
        let round = 0;
        const client = new VirtualClient({
          url, runId: run.id, joinToken: run.joinToken, samplesPerSec: SPEED, label: `c${i}`,
          // The fast attacker does not wait for its emulated device time; in the baseline this client paces itself like the fast attacker, which changes no weight.
          emulateSpeed: !(i === ATTACKER && scenario !== 'paced attacker'),
          transformUpdate: (weights, task) => {
            round = task.round;
            if (i !== ATTACKER) return weights;
            const sent = decodeWeights(task.weights);
            const out = isAttacker ? weights.map((v) => v * SCALE) : scenario === 'control' ? weights.map(() => NaN) : weights;
            attacker.push({ round: task.round, honestDistance: distance(weights, sent), sentDistance: distance(out, sent), outcome: 'pending' });
            return out;
          },
        }, {
          onRoundAccepted: (r) => {
            arrived(r, i, 'ok');
            if (i === ATTACKER) attacker.find((a) => a.round === r)!.outcome = 'accepted';
          },
          onRefused: (code, message) => {
            arrived(round, i, code);
            if (i === ATTACKER) Object.assign(attacker.find((a) => a.round === round)!, { outcome: code, message });
            else collateral.push(`round ${round} client ${i}: ${code} ${message}`);
          },
        });
        mine.push(client);
        clients.push(client);
        // One at a time: demo shards are dealt in join order, so client i holds shard i in every run.
        await until(() => client.welcome !== undefined, 30_000, `client ${i} of ${scenario} to be welcomed`);
      }
      await until(async () => (await api<{ state: string }>('GET', `/api/runs/${run.id}`)).state === 'completed', 300_000, `the ${scenario} run to complete`);
      for (const c of mine) c.close();
      const rounds = await api<RoundRecord[]>('GET', `/api/runs/${run.id}/rounds`);
      const byId = new Map((await api<{ id: string; demoShard: number | null }[]>('GET', `/api/runs/${run.id}/clients`)).map((c) => [c.id, c.demoShard]));
      const shards = mine.map((c) => byId.get(c.welcome!.clientId) ?? null);
      const seconds = (Date.now() - t0) / 1000;
      const last = rounds[rounds.length - 1]!;
      console.log(`[scaled-update] ${scenario}: ${rounds.length} rounds in ${seconds.toFixed(1)} s, clusters ${last.clusters.map((c) => `${c.clusterIndex}:w${c.widthRatio}x${c.members}`).join(' ')}, `
        + `shards ${shards.join(',')}, accuracy by round ${rounds.map((r) => r.meanAccuracy.toFixed(4)).join(' ')}, `
        + `accepted/refused by round ${rounds.map((r) => `${r.updatesAccepted}/${r.updatesRefused}`).join(' ')}`);
      for (const a of attacker) {
        console.log(`[scaled-update] ${scenario} round ${a.round}: client ${ATTACKER} trained distance ${a.honestDistance.toFixed(3)}, uploaded distance ${a.sentDistance.toFixed(1)} -> ${a.outcome}${a.message ? ` (${a.message})` : ''}; `
          + `arrival order ${(arrivals.get(a.round) ?? []).join(' ')}`);
      }
      for (const c of collateral) console.log(`[scaled-update] ${scenario} honest client refused: ${c}`);
      return { scenario, runId: run.id, rounds, attacker, arrivals, collateral, shards, seconds };
    };

    const baseline = await runScenario('baseline');
    const attacks = [await runScenario('fast attacker'), await runScenario('paced attacker')];
    const control = await runScenario('control');
    const controlAccuracy = control.rounds[control.rounds.length - 1]!.meanAccuracy;

    const baselineAccuracy = baseline.rounds[baseline.rounds.length - 1]!.meanAccuracy;
    expect(baseline.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
    expect(baseline.collateral).toEqual([]);
    console.log(`[scaled-update] control (client ${ATTACKER}'s updates refused as non-finite): final mean accuracy ${controlAccuracy.toFixed(4)}, baseline ${baselineAccuracy.toFixed(4)} `
      + `(the missing shard alone: ${(controlAccuracy - baselineAccuracy).toFixed(4)})`);
    for (const attack of attacks) {
      const accuracy = attack.rounds[attack.rounds.length - 1]!.meanAccuracy;
      const firstPlace = (attack.arrivals.get(1) ?? []).findIndex((a) => a.startsWith(`${ATTACKER}:`)) + 1;
      console.log(`[scaled-update] ${attack.scenario}: final mean accuracy ${accuracy.toFixed(4)} vs baseline ${baselineAccuracy.toFixed(4)} (difference ${(accuracy - baselineAccuracy).toFixed(4)}); `
        + `vs control ${controlAccuracy.toFixed(4)}; attacker was update #${firstPlace} of round 1; outcomes ${attack.attacker.map((a) => `r${a.round}:${a.outcome}`).join(' ')}; `
        + `honest updates refused ${attack.collateral.length}`);
      expect(attack.shards, `${attack.scenario}: same shards as the baseline`).toEqual(baseline.shards);
      expect(attack.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
      expect(attack.attacker.map((a) => a.round), `${attack.scenario}: the attacker uploaded every round`).toEqual([1, 2, 3, 4, 5]);
      for (const a of attack.attacker) {
        expect.soft(a.outcome, `${attack.scenario}: round ${a.round}, malicious update at distance ${a.sentDistance.toFixed(1)} (honest ${a.honestDistance.toFixed(3)})`)
          .toBe('FEDTSA_ERR_NORM_TOO_LARGE');
      }
      expect.soft(Math.abs(accuracy - controlAccuracy), `${attack.scenario}: final mean accuracy ${accuracy.toFixed(4)} vs the run without it ${controlAccuracy.toFixed(4)}`)
        .toBeLessThanOrEqual(0.01);
      expect.soft(attack.collateral.length, `${attack.scenario}: honest updates refused`).toBe(0);
    }
    expect(control.attacker.map((a) => a.outcome), 'control: every NaN update refused').toEqual(Array(ROUNDS).fill('FEDTSA_ERR_NON_FINITE'));
    expect(control.collateral).toEqual([]);
  });
});
