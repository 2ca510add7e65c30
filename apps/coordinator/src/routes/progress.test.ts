import { afterAll, describe, expect, it } from 'vitest';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { isRunProgress, MODEL_HEADERS, type RunProgress } from '@fedtsa/protocol/progress';
import { SPEC } from '../app.ts';
import { ADMIN, FAST_SETTINGS, until, useCoordinator } from '../test-helpers.ts';
import { VirtualClient } from '../virtual-client/virtual-client.ts';
import { parseParticipantAuth } from './progress.ts';

const started = useCoordinator();
const clients: VirtualClient[] = [];
afterAll(() => { for (const c of clients) c.close(); });

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function get(path: string, authorization?: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${started().url}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, body: await res.json() };
}

async function createRun(settings: Record<string, unknown>): Promise<{ id: string; joinToken: string }> {
  const res = await fetch(`${started().url}/api/runs`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'progress', settings: { ...FAST_SETTINGS, stage2: { enabled: false }, ...settings }, start: true }),
  });
  expect(res.status).toBe(201);
  return await res.json() as { id: string; joinToken: string };
}

describe('parseParticipantAuth', () => {
  it('reads Basic id:secret and refuses anything else', () => {
    expect(parseParticipantAuth(basic('c-abc', 's:e-c_r'))).toEqual({ clientId: 'c-abc', clientSecret: 's:e-c_r' });
    expect(parseParticipantAuth(undefined)).toBeUndefined();
    expect(parseParticipantAuth(`Bearer ${ADMIN}`)).toBeUndefined();
    expect(parseParticipantAuth(basic('', 'secret'))).toBeUndefined();
    expect(parseParticipantAuth(basic('c-abc', ''))).toBeUndefined();
    expect(parseParticipantAuth(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });
});

describe('GET /api/runs/:id/progress', () => {
  it('gives a participant its cluster by round, per-cluster accuracy, device counts and its own cluster\'s model, and nothing that names another client', async () => {
    const run = await createRun({ rounds: 2, minClientsToStart: 4 });
    // Two tiers far apart: two clusters.
    for (const [i, speed] of [1500, 1600, 40, 44].entries()) clients.push(new VirtualClient({ url: started().url, runId: run.id, joinToken: run.joinToken, samplesPerSec: speed, label: `p${i}` }));
    const { coordinator } = started();
    await until(() => coordinator.registry.get(run.id)!.record.completedRound >= 2, 120_000, 'two completed rounds');
    const [fast, , slow] = clients.slice(-4) as [VirtualClient, VirtualClient, VirtualClient, VirtualClient];
    const ids = clients.slice(-4).map((c) => c.welcome!.clientId);

    const res = await get(`/api/runs/${run.id}/progress`, basic(fast.welcome!.clientId, fast.welcome!.clientSecret));
    expect(res.status).toBe(200);
    expect(isRunProgress(res.body)).toBe(true);
    const progress = res.body as RunProgress;
    expect(progress).toMatchObject({ runId: run.id, state: 'completed', rounds: 2, completedRound: 2, devices: { joined: 4 } });
    expect(progress.devices.live).toBeGreaterThanOrEqual(1);
    expect(progress.devices.live).toBeLessThanOrEqual(4);
    for (const id of ids) expect(JSON.stringify(res.body)).not.toContain(id);

    const records = coordinator.store.listRounds(run.id);
    expect(progress.history.map((r) => r.round)).toEqual([1, 2]);
    for (const [i, r] of progress.history.entries()) {
      const record = records[i]!;
      expect(r.participants).toBe(record.participants);
      expect(r.clusters.map((c) => c.accuracy)).toEqual(record.clusters.map((c) => c.accuracy));
      expect(r.clusters.map((c) => c.members)).toEqual(record.clusters.map((c) => c.members));
      const mine = record.clustering.clusters.find((c) => c.memberIds.includes(fast.welcome!.clientId))!;
      expect(r.yourCluster).toBe(mine.index);
    }
    expect(progress.history[0]!.clusters).toHaveLength(2);

    // The slow device sees the same figures but its own (narrower) cluster.
    const other = (await get(`/api/runs/${run.id}/progress`, basic(slow.welcome!.clientId, slow.welcome!.clientSecret))).body as RunProgress;
    expect(other.history.map((r) => r.clusters)).toEqual(progress.history.map((r) => r.clusters));
    const width = (p: RunProgress, round: number) => p.history[round]!.clusters.find((c) => c.clusterIndex === p.history[round]!.yourCluster)!.widthRatio;
    expect(width(other, 1)).toBeLessThan(width(progress, 1));
    expect(other.yourCluster).not.toBe(progress.yourCluster);

    // Each device gets its own cluster's model as it stands after the last round, and only that one.
    for (const [client, seen] of [[fast, progress], [slow, other]] as const) {
      const res = await fetch(`${started().url}/api/runs/${run.id}/progress/model`, { headers: { authorization: basic(client.welcome!.clientId, client.welcome!.clientSecret) } });
      expect(res.status).toBe(200);
      const clusterIndex = Number(res.headers.get(MODEL_HEADERS.clusterIndex));
      const widthRatio = Number(res.headers.get(MODEL_HEADERS.widthRatio));
      expect(clusterIndex).toBe(seen.yourCluster);
      expect(Number(res.headers.get(MODEL_HEADERS.trainedThrough))).toBe(2);
      const served = coordinator.registry.get(run.id)!.clusterModels().find((m) => m.clusterIndex === clusterIndex)!;
      expect(served.memberIds).toContain(client.welcome!.clientId);
      expect(widthRatio).toBe(served.widthRatio);
      const weights = new Float32Array(await res.arrayBuffer());
      expect(weights.length).toBe(parameterCount(modelManifest(SPEC, widthRatio)));
      expect(weights).toEqual(served.weights);
    }
  }, 150_000);

  it('refuses callers that are not participants of the run, and unknown runs', async () => {
    const run = await createRun({ rounds: 1, minClientsToStart: 5 });
    const c = new VirtualClient({ url: started().url, runId: run.id, joinToken: run.joinToken, samplesPerSec: 500, label: 'q' });
    clients.push(c);
    await until(() => c.welcome !== undefined, 30_000, 'welcome');
    const me = c.welcome!;
    const ok = await get(`/api/runs/${run.id}/progress`, basic(me.clientId, me.clientSecret));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ history: [], completedRound: 0, devices: { joined: 1 } });

    for (const authorization of [undefined, `Bearer ${ADMIN}`, basic(me.clientId, 'wrong'), basic('c-nobody', me.clientSecret), `Bearer ${run.joinToken}`]) {
      const res = await get(`/api/runs/${run.id}/progress`, authorization);
      expect(res.status).toBe(401);
      expect((res.body as { code: string }).code).toBe('FEDTSA_ERR_BAD_TOKEN');
    }
    // A participant of another run is not one of this run.
    const elsewhere = await createRun({ rounds: 1, minClientsToStart: 5 });
    expect((await get(`/api/runs/${elsewhere.id}/progress`, basic(me.clientId, me.clientSecret))).status).toBe(401);
    expect((await get('/api/runs/run-nothere/progress', basic(me.clientId, me.clientSecret))).status).toBe(404);
    // No round has started: no model holds this device yet.
    const model = await fetch(`${started().url}/api/runs/${run.id}/progress/model`, { headers: { authorization: basic(me.clientId, me.clientSecret) } });
    expect(model.status).toBe(404);
    expect(((await model.json()) as { code: string }).code).toBe('FEDTSA_ERR_NOT_FOUND');
    expect((await fetch(`${started().url}/api/runs/${run.id}/progress/model`, { headers: { authorization: basic(me.clientId, 'wrong') } })).status).toBe(401);
  }, 60_000);
});
