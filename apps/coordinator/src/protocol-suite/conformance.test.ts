/**
 * Protocol 2 conformance: the independent client (written from docs/protocol.md, importing
 * nothing from the project) against a coordinator running in its own process. The tests run
 * in order on one run: the handshake, one trained round with every malformed update refused
 * on the way, then round 2's stale and oversized updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalTextIn } from '../clean-refusal.ts';
import { startCoordinatorProcess, type CoordinatorProcess } from './coordinator-process.ts';
import { ConnectRefused, IndependentClient, type Ack, type Shard, type Task } from './independent-client.ts';

/**
 * Quick settings: one cluster of two, Stage 2 off, a deadline long enough for two trainings in one process.
 * Two epochs in batches of 32: with one epoch in batches of 16 the demo shards' last batch holds one
 * image, whose plain-SGD step undoes the epoch (measured: the averaged model at 7.8%, below its start).
 */
const SETTINGS = {
  // Four rounds: round 3 ends as soon as both clients' NaN updates are refused, and the later tests still need a running run to join.
  rounds: 4, roundDeadlineMs: 120_000, localEpochs: 2, batchSize: 32, learningRate: 0.05, expectedSamplesPerClient: 60,
  roundBudgetSec: 0.5, evalSamples: 500, minClientsPerCluster: 2, minClientsToStart: 2, stage2: { enabled: false },
};

interface RoundRow {
  round: number;
  participants: number;
  updatesAccepted: number;
  clusters: { clusterIndex: number; widthRatio: number; accuracy: number; startAccuracy?: number }[];
}

/** The refusal's code, after checking that its message holds nothing internal (one prefix, no stack, no function names). */
const refusalCode = (ack: unknown): string | undefined => {
  const a = ack as Ack<unknown>;
  if (a.ok) return undefined;
  expect(internalTextIn(a.error), JSON.stringify(a.error)).toEqual([]);
  return a.error.code;
};

describe('protocol 4: an independent client against a coordinator process', () => {
  let coordinator: CoordinatorProcess;
  let run: { id: string; joinToken: string };
  const connect = (extra: Partial<Parameters<typeof IndependentClient.connect>[0]> = {}) =>
    IndependentClient.connect({ url: coordinator.url, runId: run.id, joinToken: run.joinToken, ...extra });
  const refusedHandshake = (extra: Partial<Parameters<typeof IndependentClient.connect>[0]>) =>
    connect(extra).then((c) => { c.close(); return 'welcomed'; }, (err: unknown) => (err instanceof ConnectRefused ? err.code : String(err)));

  beforeAll(async () => {
    coordinator = await startCoordinatorProcess();
    const created = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', { name: 'conformance', settings: SETTINGS, start: true });
    expect(created.status).toBe(201);
    run = created.body;
  }, 90_000);

  afterAll(async () => {
    await coordinator?.stop();
  });

  it('refuses handshakes with a coded connect_error', async () => {
    expect(await refusedHandshake({ joinToken: 'not-the-token' })).toBe('FEDTSA_ERR_BAD_TOKEN');
    expect(await refusedHandshake({ protocolVersion: 2 })).toBe('FEDTSA_ERR_PROTOCOL_VERSION');
    expect(await refusedHandshake({ runId: 'no-such-run' })).toBe('FEDTSA_ERR_RUN_NOT_FOUND');
    expect(await refusedHandshake({ clientId: 'c-unknown', clientSecret: 'x' })).toBe('FEDTSA_ERR_BAD_TOKEN');
    expect(await refusedHandshake({ authOverride: { extra: 1 } })).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    expect((await coordinator.api('GET', `/api/runs/${run.id}`, undefined, 'wrong-admin-token')).status).toBe(401);
  });

  let a: IndependentClient;
  let b: IndependentClient;
  let shardA: Shard;
  let shardB: Shard;
  let taskA: Task;
  let taskB: Task;

  it('trains round 1 with two independent clients; every malformed update is refused with its code and does not count', async () => {
    a = await connect();
    b = await connect();
    expect(a.welcome).toMatchObject({ runId: run.id, resumed: false, serverEvaluates: true, task: { name: 'fashion-mnist', inputShape: [28, 28, 1], normalisation: 'unit' } });
    expect(a.welcome.task.classNames).toHaveLength(10);
    expect(a.welcome.clientId).not.toBe(b.welcome.clientId);
    [shardA, shardB] = await Promise.all([a.demoShard(), b.demoShard()]);
    expect(shardA.count).toBe(a.welcome.demoShard?.samples);
    expect(shardA.pixels.reduce((m, p) => Math.max(m, p), 0)).toBeGreaterThan(1); // bytes 0-255, not floats
    expect(refusalCode(await a.requestRaw('capability', { samplesPerSec: -1, backend: 'node' }))).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    for (const c of [a, b]) expect((await c.report({ samplesPerSec: 500, backend: 'node', label: 'independent' })).ok).toBe(true);

    [taskA, taskB] = await Promise.all([a.nextTask(30_000), b.nextTask(30_000)]);
    expect(taskA).toMatchObject({ runId: run.id, round: 1, optimizer: 'sgd', epochs: 2, batchSize: 32, learningRate: 0.05 });
    expect(taskA.taskId).not.toBe(taskB.taskId);
    expect(taskA.weights.manifest.map((p) => p.name)).toEqual(['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'fc1/kernel', 'fc1/bias', 'logits/kernel', 'logits/bias']);
    expect(a.assignments.at(-1)?.clusterIndex).toBe(taskA.clusterIndex);
    const sent = IndependentClient.weightsOf(taskA);

    // A connected client that was not selected this round.
    const outsider = await connect();
    expect(refusalCode(await outsider.upload(taskA, sent, { numSamples: 10 }))).toBe('FEDTSA_ERR_NOT_SELECTED');
    outsider.close();

    const wrong = async (weights: Float32Array, options: Parameters<IndependentClient['upload']>[2]) => refusalCode(await a.upload(taskA, weights, options));
    const n = shardA.count;
    expect(await wrong(sent, { numSamples: n, taskId: null })).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    expect(await wrong(sent, { numSamples: n, taskId: 'not-my-task' })).toBe('FEDTSA_ERR_TASK_MISMATCH');
    expect(await wrong(sent, { numSamples: n, taskId: taskB.taskId })).toBe('FEDTSA_ERR_TASK_MISMATCH');
    expect(await wrong(sent, { numSamples: n, fields: { round: 2 } })).toBe('FEDTSA_ERR_STALE_ROUND');
    expect(await wrong(sent, { numSamples: n, fields: { clusterIndex: taskA.clusterIndex + 1 } })).toBe('FEDTSA_ERR_WRONG_CLUSTER');
    expect(await wrong(sent.subarray(1), { numSamples: n })).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(await wrong(sent, { numSamples: n, dtype: 'float16', fields: { weights: { manifest: taskA.weights.manifest, dtype: 'float32', data: new Uint8Array(sent.length * 2) } } })).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    const renamed = taskA.weights.manifest.map((p, i) => (i === 0 ? { ...p, name: 'conv0/kernel' } : p));
    expect(await wrong(sent, { numSamples: n, manifest: renamed })).toBe('FEDTSA_ERR_SHAPE_MISMATCH');
    expect(refusalCode(await a.requestRaw('update', 'not an update'))).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
    a.emitRaw('update', { round: 1 });
    const event = await a.nextRefusal();
    expect(internalTextIn(event), JSON.stringify(event)).toEqual([]);
    expect(event.code).toBe('FEDTSA_ERR_INVALID_PAYLOAD');

    const started = Date.now();
    const trainedA = a.train(taskA, shardA);
    const trainMs = Date.now() - started;
    expect(await a.upload(taskA, trainedA, { numSamples: n })).toEqual({ ok: true, value: { accepted: true, round: 1 } });
    expect(await wrong(trainedA, { numSamples: n })).toBe('FEDTSA_ERR_DUPLICATE_UPDATE');

    // b drops its connection mid-round and resumes its identity: it gets the same task again.
    const { clientId, clientSecret } = b.welcome;
    b.close();
    b = await connect({ clientId, clientSecret });
    expect(b.welcome).toMatchObject({ clientId, resumed: true });
    const again = await b.nextTask(10_000);
    expect(again.taskId).toBe(taskB.taskId);
    expect(await b.upload(again, b.train(again, shardB), { numSamples: shardB.count, dtype: 'float16' })).toMatchObject({ ok: true });

    expect(await a.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    expect(await b.roundClosed(1)).toEqual({ runId: run.id, round: 1, accepted: true });
    const rounds = (await coordinator.api<RoundRow[]>('GET', `/api/runs/${run.id}/rounds`)).body;
    const first = rounds.find((r) => r.round === 1) as RoundRow;
    expect(first).toMatchObject({ participants: 2, updatesAccepted: 2 });
    const cluster = first.clusters[0] as RoundRow['clusters'][number];
    console.log(`round 1: width ${cluster.widthRatio}, accuracy ${cluster.startAccuracy} -> ${cluster.accuracy}; two local epochs of ${n} samples took ${trainMs} ms`);
    expect(cluster.startAccuracy).toBeDefined();
    expect(cluster.accuracy).toBeGreaterThan((cluster.startAccuracy as number) + 0.1);
  }, 120_000);

  it('refuses round 1 updates once round 2 is open, and an update far beyond the cluster median', async () => {
    const [taskA2] = await Promise.all([a.nextTask(30_000), b.nextTask(30_000)]);
    expect(taskA2.round).toBe(2);
    expect(taskA2.taskId).not.toBe(taskA.taskId);
    const sent = IndependentClient.weightsOf(taskA2);
    expect(refusalCode(await a.upload(taskA, sent, { numSamples: shardA.count }))).toBe('FEDTSA_ERR_STALE_ROUND');
    expect(refusalCode(await a.upload(taskA, sent, { numSamples: shardA.count, taskId: taskA2.taskId }))).toBe('FEDTSA_ERR_STALE_ROUND');
    // Every value moved by 0.5: a distance of ~0.5 * sqrt(n), far beyond 10 x round 1's median.
    expect(refusalCode(await a.upload(taskA2, sent.map((v) => v + 0.5), { numSamples: shardA.count }))).toBe('FEDTSA_ERR_NORM_TOO_LARGE');
    // A refusal of the update's content ends the client's turn: no probing of the limit.
    const retry = await a.upload(taskA2, sent, { numSamples: shardA.count });
    expect(refusalCode(retry)).toBe('FEDTSA_ERR_DUPLICATE_UPDATE');
    expect(!retry.ok && retry.error.message).toMatch(/was refused/);
  }, 60_000);

  it('refuses a sample count beyond the demo shard the client was dealt, and an own-data declaration beyond the run limit', async () => {
    const task = b.tasks.all.find((t) => t.round === 2) as Task;
    expect(refusalCode(await b.upload(task, IndependentClient.weightsOf(task), { numSamples: shardB.count + 1 }))).toBe('FEDTSA_ERR_BAD_CLAIM');
    expect(refusalCode(await a.report({ samplesPerSec: 500, backend: 'node', ownDataSamples: 100_001 }))).toBe('FEDTSA_ERR_BAD_CLAIM');
  });

  it('refuses NaN, and float16 values beyond its range (Infinity), as non-finite', async () => {
    // Both clients' round 2 turns are spent, so round 2 closed without updates and round 3 is open.
    const [taskA3, taskB3] = await Promise.all([a.tasks.take((t) => t.round === 3, 30_000, 'task 3'), b.tasks.take((t) => t.round === 3, 30_000, 'task 3')]);
    const withNaN = IndependentClient.weightsOf(taskA3);
    withNaN[123] = NaN;
    expect(refusalCode(await a.upload(taskA3, withNaN, { numSamples: shardA.count }))).toBe('FEDTSA_ERR_NON_FINITE');
    const overflowing = IndependentClient.weightsOf(taskB3);
    overflowing[7] = 1e6; // beyond float16's range: encodes as Infinity
    expect(refusalCode(await b.upload(taskB3, overflowing, { numSamples: shardB.count, dtype: 'float16' }))).toBe('FEDTSA_ERR_NON_FINITE');
  }, 60_000);

  it('answers a burst beyond the rate limit with RATE_LIMITED, and closes the connection of a message beyond the size limit', async () => {
    const noisy = await connect();
    for (let i = 0; i < 60; i++) noisy.heartbeat('idle'); // 20 a second, bursts of 40
    expect((await noisy.nextRefusal()).code).toBe('FEDTSA_ERR_RATE_LIMITED');
    noisy.close();
    const big = await connect();
    const task = a.tasks.all.find((t) => t.round === 2) as Task;
    const closed = new Promise<string>((resolve) => big.socket.once('disconnect', resolve));
    // 6.4 MB of weights: over maxHttpBufferSize (the widest model a task may have, 64x64x3 with 100 classes, in float32 plus framing: 5.3 MB).
    await expect(big.upload(task, new Float32Array(1_600_000), { numSamples: 1, timeoutMs: 3000 })).rejects.toThrow();
    expect(await closed).toMatch(/transport/);
  });

  it('closes its connections', () => {
    a.close();
    b.close();
  });
});
