/**
 * The screening rules of docs/protocol.md, observed from the outside: independent clients
 * upload hand-made updates (no training needed) to a coordinator process and read the
 * verdicts in `round-closed` and the next task's weights.
 *   - at the close, a norm outlier and a sign-flipped update are dropped with their codes;
 *   - the averaging weights are capped (claims at 3 x the median claim, no client above half);
 *   - a cluster model that would move further than its start's norm is rolled back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinatorProcess, type CoordinatorProcess } from './coordinator-process.ts';
import { IndependentClient, type Task } from './independent-client.ts';

const SETTINGS = {
  rounds: 2, roundDeadlineMs: 60_000, localEpochs: 1, batchSize: 32, learningRate: 0.05, expectedSamplesPerClient: 60,
  roundBudgetSec: 0.5, evalSamples: 200, minClientsPerCluster: 2, stage2: { enabled: false },
};

/** A deterministic vector of `n` values with L2 norm `norm`. */
function direction(n: number, norm: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const v = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  const scale = norm / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x * scale);
}

const plus = (a: Float32Array, b: Float32Array, k = 1) => a.map((x, i) => x + k * (b[i] as number));
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);

describe('protocol 4 screening, seen by independent clients of a coordinator process', () => {
  let coordinator: CoordinatorProcess;

  beforeAll(async () => {
    coordinator = await startCoordinatorProcess();
  }, 90_000);

  afterAll(async () => {
    await coordinator?.stop();
  });

  async function joinRun(clients: number, settings: Record<string, unknown> = {}) {
    const created = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', {
      name: 'screening', settings: { ...SETTINGS, minClientsToStart: clients, ...settings }, start: true,
    });
    expect(created.status).toBe(201);
    const run = created.body;
    const joined = await Promise.all(Array.from({ length: clients }, () => IndependentClient.connect({ url: coordinator.url, runId: run.id, joinToken: run.joinToken })));
    for (const c of joined) expect((await c.report({ samplesPerSec: 500, backend: 'node' })).ok).toBe(true);
    const tasks = await Promise.all(joined.map((c) => c.nextTask(30_000)));
    expect(new Set(tasks.map((t) => t.clusterIndex)).size).toBe(1);
    return { run, clients: joined, tasks };
  }

  it('drops a norm outlier and a sign-flipped update at the close, tells their clients, and averages the rest with capped weights', async () => {
    // Six: after the norm drop, five are left, the fewest the direction check compares.
    const { run, clients, tasks } = await joinRun(6);
    const [honest1, honest2, honest3, honest4, flipped, huge] = clients as [IndependentClient, IndependentClient, IndependentClient, IndependentClient, IndependentClient, IndependentClient];
    const task = tasks[0] as Task;
    const sent = IndependentClient.weightsOf(task);
    const d = direction(sent.length, 1, 7);
    const send = (c: IndependentClient, weights: Float32Array, numSamples: number) => c.upload(tasks[clients.indexOf(c)] as Task, weights, { numSamples });
    const claim1 = honest1.welcome.demoShard?.samples as number;
    // The outlier goes first, while the cluster has no reference distance yet: it passes on arrival.
    expect((await send(huge, plus(sent, direction(sent.length, 30, 8)), 10)).ok).toBe(true);
    expect((await send(honest1, plus(sent, d), claim1)).ok).toBe(true);
    expect((await send(honest2, plus(sent, d, 1.1), 10)).ok).toBe(true);
    expect((await send(honest3, plus(sent, d, 1.2), 10)).ok).toBe(true);
    expect((await send(honest4, plus(sent, d, 1.3), 10)).ok).toBe(true);
    expect((await send(flipped, plus(sent, d, -1), 10)).ok).toBe(true);

    expect(await honest1.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    expect(await honest2.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    expect(await honest3.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    expect(await honest4.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    expect(await huge.roundClosed(1)).toMatchObject({ accepted: false, refusal: { code: 'FEDTSA_ERR_NORM_TOO_LARGE' } });
    expect(await flipped.roundClosed(1)).toMatchObject({ accepted: false, refusal: { code: 'FEDTSA_ERR_DIRECTION' } });

    // Weights: honest1 claims its shard, the others 10 each. honest1's claim is capped at 3 x the
    // median claim: 30 against 10, 10 and 10, half of the cluster, the share cap's limit (FedAvg
    // by claims would sit near honest1's update).
    const next = IndependentClient.weightsOf(await honest1.nextTask(30_000));
    const mean = plus(sent, d, (30 * 1 + 10 * 1.1 + 10 * 1.2 + 10 * 1.3) / 60);
    const fedAvg = plus(sent, d, (claim1 + 11 + 12 + 13) / (claim1 + 30));
    console.log(`capped average: ${maxAbsDiff(next, mean).toExponential(2)} from the mean, ${maxAbsDiff(next, fedAvg).toExponential(2)} from FedAvg by claims (claim ${claim1} vs 10)`);
    expect(maxAbsDiff(next, mean)).toBeLessThan(1e-6);
    const rounds = (await coordinator.api<{ round: number; updatesAccepted: number; incidents?: { kind: string }[] }[]>('GET', `/api/runs/${run.id}/rounds`)).body;
    expect(rounds[0]).toMatchObject({ round: 1, updatesAccepted: 4 });
    expect(rounds[0]?.incidents?.map((i) => i.kind).sort()).toEqual(['update-dropped', 'update-dropped', 'weight-capped']);
    for (const c of clients) c.close();
  }, 60_000);

  it('rolls a cluster model back when its step would move it further than its starting norm', async () => {
    const { run, clients, tasks } = await joinRun(2);
    const sent = IndependentClient.weightsOf(tasks[0] as Task);
    const norm = Math.sqrt(sent.reduce((a, x) => a + x * x, 0));
    // Two colluders with the same large step: neither is an outlier next to the other.
    const step = plus(sent, direction(sent.length, 2 * norm, 9));
    for (const [i, c] of clients.entries()) expect((await c.upload(tasks[i] as Task, step, { numSamples: 10 })).ok).toBe(true);
    for (const c of clients) expect(await c.roundClosed(1)).toMatchObject({ accepted: true });
    const next = IndependentClient.weightsOf(await (clients[0] as IndependentClient).nextTask(30_000));
    expect(maxAbsDiff(next, sent)).toBe(0);
    const rounds = (await coordinator.api<{ incidents?: { kind: string }[] }[]>('GET', `/api/runs/${run.id}/rounds`)).body;
    expect(rounds[0]?.incidents?.map((i) => i.kind)).toContain('stage1-rolled-back');
    for (const c of clients) c.close();
  }, 60_000);
});
