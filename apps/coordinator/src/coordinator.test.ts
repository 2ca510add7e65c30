import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { modelManifest } from '@fedtsa/core/architecture';
import { decodeWeights, encodeWeights } from '@fedtsa/protocol/codec';
import type { RunSummary } from '@fedtsa/protocol/dashboard';
import type { Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE, type TrainingTask } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { SPEC, type Coordinator } from './app.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator, tinyGenerator, until } from './test-helpers.ts';
import { VirtualClient } from './virtual-client/virtual-client.ts';

let coordinator: Coordinator;
let url: string;
const clients: VirtualClient[] = [];

beforeAll(async () => {
  ({ coordinator, url } = await startCoordinator({ generatorDir: await tinyGenerator() }));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await coordinator?.close();
});

async function api(method: string, path: string, body?: unknown, token = ADMIN) {
  const res = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> & Record<string, never> };
}

function rawClient(runId: string, joinToken: string, extra: Record<string, unknown> = {}) {
  return io(`${url}${CLIENT_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION, runId, joinToken, ...extra }, transports: ['websocket'], reconnection: false });
}

describe('coordinator', () => {
  it('runs six virtual clients in two speed tiers through two clusters, Stage 1, Stage 2 and the next round', async () => {
    // float16 both ways: the models go down as float16, half the clients upload float16
    const created = await api('POST', '/api/runs', { name: 'two-tiers', settings: { ...FAST_SETTINGS, rounds: 2, minClientsToStart: 6, downlinkDtype: 'float16' }, start: true });
    expect(created.status).toBe(201);
    const { id, joinToken } = created.body as unknown as { id: string; joinToken: string };
    for (const [i, speed] of [1500, 1600, 1400, 40, 44, 36].entries()) {
      clients.push(new VirtualClient({ url, runId: id, joinToken, samplesPerSec: speed, label: `c${i}`, dtype: i % 2 ? 'float16' : 'float32' }));
    }
    await until(() => coordinator.registry.get(id)!.record.completedRound >= 2, 120_000, 'two completed rounds');
    const rounds = coordinator.store.listRounds(id);
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    const clustering = rounds[0]!.clustering;
    expect(clustering.clusters).toHaveLength(2);
    const [slow, fast] = clustering.clusters;
    expect(slow!.widthRatio).toBeLessThan(fast!.widthRatio);
    expect(new Set(slow!.memberIds)).toEqual(new Set(clients.slice(3).map((c) => c.welcome!.clientId)));
    for (const r of rounds) {
      expect(r.updatesAccepted).toBe(6);
      expect(r.stage2Stats.generated).toBeGreaterThan(0);
      expect(r.stage2Stats.mutualLearningMs).toBeGreaterThan(0);
    }
    for (const c of clients.slice(0, 6)) expect(c.acceptedRounds).toEqual([1, 2]);
    expect(coordinator.registry.get(id)!.record.state).toBe('completed');
    // The run view says why each cluster has its width: the slow end against the budget.
    const view = (await api('GET', `/api/runs/${id}`)).body as unknown as RunSummary;
    const reasons = view.clustering!.widthReasons!;
    expect(reasons.map((r) => [r.clusterIndex, r.widthRatio])).toEqual(view.clustering!.clusters.map((c) => [c.index, c.widthRatio]));
    expect(reasons[0]!.slowEndSamplesPerSec).toBeLessThan(50);
    expect(reasons[1]!.slowEndSamplesPerSec).toBeGreaterThan(1300);
    for (const r of reasons) expect(r.estimatedSec).toBeCloseTo((r.samplesPerRound * r.widthRatio ** 2) / r.slowEndSamplesPerSec, 9);
    const metrics = await api('GET', `/api/runs/${id}/metrics`);
    expect((metrics.body as unknown as unknown[]).length).toBe(2);
    const csv = await fetch(`${url}/api/runs/${id}/metrics.csv`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect((await csv.text()).split('\n')[0]).toContain('accuracy');
    const modelJson = await api('GET', `/api/runs/${id}/clusters/1/model.json`);
    expect((modelJson.body as { format?: string }).format).toBe('layers-model');
    const weights = await fetch(`${url}/api/runs/${id}/clusters/1/weights.bin`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect((await weights.arrayBuffer()).byteLength).toBe(4 * modelManifest(SPEC, fast!.widthRatio).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0));
  });

  it('refuses clients without a valid token or with another protocol version, with a code', async () => {
    const created = await api('POST', '/api/runs', { name: 'auth', settings: FAST_SETTINGS });
    const { id } = created.body as unknown as { id: string };
    const refusal = (socket: ReturnType<typeof rawClient>) => new Promise<string>((resolve) => {
      socket.on('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
      socket.on('connect', () => resolve('connected'));
    });
    expect(await refusal(rawClient(id, 'wrong-token'))).toBe('FEDTSA_ERR_BAD_TOKEN');
    expect(await refusal(rawClient('run-nope', 'x'))).toBe('FEDTSA_ERR_RUN_NOT_FOUND');
    expect(await refusal(io(`${url}${CLIENT_NAMESPACE}`, { auth: { protocolVersion: 99, runId: id, joinToken: 'x' }, transports: ['websocket'], reconnection: false })))
      .toBe('FEDTSA_ERR_PROTOCOL_VERSION');
    expect(await refusal(io(`${url}${DASHBOARD_NAMESPACE}`, { auth: { adminToken: 'nope' }, transports: ['websocket'], reconnection: false })))
      .toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect((await api('GET', '/api/runs', undefined, 'nope')).status).toBe(401);
    expect((await api('POST', `/api/runs/${id}/start`, undefined, 'nope')).status).toBe(401);
  });

  it('refuses malformed, wrongly shaped and non-finite updates with codes, leaving the models unchanged, and a straggler as stale', async () => {
    const created = await api('POST', '/api/runs', { name: 'bad-updates', settings: { ...FAST_SETTINGS, rounds: 3, minClientsToStart: 2, roundDeadlineMs: 3000, stage2: { enabled: false } }, start: true });
    const { id, joinToken } = created.body as unknown as { id: string; joinToken: string };
    const honest = new VirtualClient({ url, runId: id, joinToken, samplesPerSec: 500 });
    clients.push(honest);
    const raw = rawClient(id, joinToken);
    const tasks: TrainingTask[] = [];
    raw.on('task', (t) => tasks.push(t));
    await new Promise<void>((resolve) => raw.on('welcome', () => resolve()));
    // It declares 60 samples of its own, the count its updates claim (its demo shard may hold fewer).
    await raw.timeout(5000).emitWithAck('capability', { samplesPerSec: 500, backend: 'node', ownDataSamples: 60 });
    await until(() => tasks.length >= 1, 20_000, 'a task');
    const task = tasks[0]!;
    const engine = coordinator.registry.get(id)!;
    const before = engine.clusterModels().map((m) => Buffer.from(m.weights.buffer, m.weights.byteOffset, m.weights.byteLength).toString('base64'));
    const good = decodeWeights(task.weights);
    const manifest = modelManifest(SPEC, task.widthRatio);
    const send = async (payload: unknown) => ((await raw.timeout(5000).emitWithAck('update', payload as never)) as Ack<unknown>);
    const base = { runId: id, round: task.round, clusterIndex: task.clusterIndex, taskId: task.taskId, numSamples: 60, trainLoss: 0.5 };
    const refusedCode = (a: Ack<unknown>) => (a.ok ? 'accepted' : a.error.code);

    expect(refusedCode(await send({ ...base, weights: { manifest, dtype: 'float32', data: [1, 2, 3] } }))).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    expect(refusedCode(await send({ hello: 'world' }))).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    expect(refusedCode(await send({ ...base, weights: encodeWeights(good.subarray(0, 10), [{ name: 'x', shape: [10] }]) }))).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(refusedCode(await send({ ...base, weights: { ...encodeWeights(good, manifest), data: new Uint8Array(8) } }))).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(refusedCode(await send({ ...base, clusterIndex: task.clusterIndex + 1, weights: encodeWeights(good, manifest) }))).toBe('FEDTSA_ERR_WRONG_CLUSTER');
    const nan = good.slice();
    nan[5] = NaN;
    expect(refusedCode(await send({ ...base, weights: encodeWeights(nan, manifest) }))).toBe('FEDTSA_ERR_NON_FINITE');
    const after = engine.clusterModels().map((m) => Buffer.from(m.weights.buffer, m.weights.byteOffset, m.weights.byteLength).toString('base64'));
    expect(after).toEqual(before);

    // The raw client's turn is spent: the round closes with the honest client alone.
    await until(() => engine.record.completedRound >= task.round, 20_000, 'the round to close');
    expect(coordinator.store.listRounds(id)[0]!.updatesAccepted).toBe(1);
    expect(refusedCode(await send({ ...base, weights: encodeWeights(good, manifest) }))).toBe('FEDTSA_ERR_STALE_ROUND');
    raw.close();
  });
});
