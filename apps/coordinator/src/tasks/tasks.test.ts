/**
 * Tasks from folders in a real coordinator: registered over REST inside the data root (and only
 * there), listed, refused in plain words when malformed; a run of a 32x32, 6-class task trains
 * with virtual clients that build their model from Welcome's task; and a task without a test set
 * is evaluated by its clients, the round's accuracy being the count-weighted mean of their reports.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIdxExample } from '@fedtsa/node-io/datasets/make-example';
import type { UpdatePayload } from '@fedtsa/protocol/messages';
import type { Coordinator } from '../app.ts';
import { ADMIN, startCoordinator, until } from '../test-helpers.ts';
import { VirtualClient } from '../virtual-client/virtual-client.ts';

let coordinator: Coordinator;
let url: string;
let root: string;
const clients: VirtualClient[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fedtsa-root-'));
  writeIdxExample(join(root, 'shapes'), { trainCount: 1_200, testCount: 300 });
  // The same kind of data without a test split: the server cannot score it.
  writeIdxExample(join(root, 'no-test'), { trainCount: 1_200, testCount: 1, seed: 5 });
  for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) rmSync(join(root, 'no-test', f));
  mkdirSync(join(root, 'broken'));
  writeFileSync(join(root, 'broken', 'train-images-idx3-ubyte'), Buffer.from([0, 0, 9, 9, 0, 0, 0, 0]));
  writeFileSync(join(root, 'broken', 'train-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]));
  ({ coordinator, url } = await startCoordinator({ tasks: { dataRoot: root } }));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await coordinator?.close();
});

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('tasks', () => {
  it('registers a folder inside the data root, lists it, and refuses one outside, a malformed one and a taken name', async () => {
    const made = await api('POST', '/api/tasks', { dir: 'shapes' });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name: 'shapes', inputShape: [32, 32, 1], trainImages: 1_200, testImages: 300, serverEvaluates: true });
    expect((made.body.classNames as string[]).length).toBe(6);
    const listed = await api('GET', '/api/tasks');
    expect((listed.body as unknown as { name: string }[]).map((t) => t.name)).toEqual(['fashion-mnist', 'shapes']);

    const outside = await api('POST', '/api/tasks', { dir: '../' });
    expect([outside.status, outside.body.code]).toEqual([400, 'FEDTSA_ERR_BAD_DATASET']);
    expect(outside.body.message).toMatch(/outside the data root/);
    const absolute = await api('POST', '/api/tasks', { dir: tmpdir() });
    expect(absolute.body.message).toMatch(/outside the data root/);
    const broken = await api('POST', '/api/tasks', { dir: 'broken' });
    expect(broken.status).toBe(400);
    expect(broken.body.message).toMatch(/train-images-idx3-ubyte: .*is it an IDX ubyte file\?/);
    const again = await api('POST', '/api/tasks', { dir: 'shapes' });
    expect(again.body.message).toMatch(/exists already/);
    const run = await api('POST', '/api/runs', { name: 'no such task', settings: { task: 'nope' } });
    expect([run.status, run.body.message]).toEqual([400, expect.stringMatching(/settings\.task: no task named 'nope'/)]);

    // No generator for 'shapes' (checkpoints/shapes-ddpm does not exist): Stage 1 only, said in the API; asking for Stage 2 is refused.
    expect(made.body).toMatchObject({ generator: null, stage2Off: expect.stringMatching(/task 'shapes' has no generator in .*shapes-ddpm/) });
    // This test coordinator's built-in task points at a generator folder that does not exist.
    const builtIn = (listed.body as unknown as { name: string; generator: string | null; stage2Off?: string }[]).find((t) => t.name === 'fashion-mnist');
    expect([builtIn?.generator, builtIn?.stage2Off]).toEqual([null, expect.stringMatching(/no generator in \/nonexistent/)]);
    const asked = await api('POST', '/api/runs', { name: 'stage 2 please', settings: { task: 'shapes', stage2: { enabled: true } } });
    expect([asked.status, asked.body.message]).toEqual([400, expect.stringMatching(/settings\.stage2\.enabled: task 'shapes' has no generator .*Stage 2 cannot run/)]);
    const implicit = await api('POST', '/api/runs', { name: 'stage 1 then', settings: { task: 'shapes' } });
    expect([implicit.status, (implicit.body.settings as { stage2: { enabled: boolean } }).stage2.enabled]).toEqual([201, false]);
  });

  it('trains a 32x32 task with virtual clients that take the shape from Welcome, and evaluates a task without a test set on the clients', async () => {
    expect((await api('POST', '/api/tasks', { dir: 'no-test', name: 'shapes-fed' })).body).toMatchObject({ serverEvaluates: false, testImages: 0 });
    const settings = { rounds: 2, minClientsToStart: 4, minClientsPerCluster: 2, localEpochs: 1, batchSize: 16, learningRate: 0.1, roundBudgetSec: 0.5, evalSamples: 300, stage2: { enabled: false } };
    const runs: Record<string, { id: string; joinToken: string }> = {};
    for (const task of ['shapes', 'shapes-fed']) {
      const made = await api('POST', '/api/runs', { name: task, settings: { ...settings, task }, start: true });
      expect(made.status).toBe(201);
      runs[task] = made.body as unknown as { id: string; joinToken: string };
    }
    const reports = new Map<string, NonNullable<UpdatePayload['evaluation']>[]>();
    for (const [task, run] of Object.entries(runs)) {
      for (const [i, speed] of [1500, 1400, 40, 44].entries()) {
        clients.push(new VirtualClient({ url, runId: run.id, joinToken: run.joinToken, samplesPerSec: speed, label: `${task}-${i}` }, {
          onSent: (u) => { if (u.evaluation) reports.set(`${u.round}/${u.clusterIndex}`, [...(reports.get(`${u.round}/${u.clusterIndex}`) ?? []), u.evaluation]); },
        }));
      }
    }
    await until(() => Object.values(runs).every((r) => coordinator.registry.get(r.id)!.record.completedRound >= 2), 120_000, 'two rounds of both runs');
    const shapeClients = clients.filter((c) => c.welcome?.runId === runs.shapes!.id);
    expect(shapeClients.map((c) => c.welcome?.task.inputShape)).toEqual(Array(4).fill([32, 32, 1]));
    const served = coordinator.store.listRounds(runs.shapes!.id);
    for (const r of served) {
      expect(r.updatesAccepted).toBe(4);
      for (const c of r.clusters) expect([c.evaluatedBy ?? 'server', c.accuracy]).toEqual(['server', expect.any(Number)]);
    }

    // Federated evaluation: each cluster's figure is the count-weighted mean of what its clients reported.
    const fed = coordinator.store.listRounds(runs['shapes-fed']!.id);
    for (const r of fed) {
      for (const c of r.clusters) {
        const sent = reports.get(`${r.round}/${c.clusterIndex}`) ?? [];
        expect(sent.length).toBe(c.updates);
        const count = sent.reduce((s, e) => s + e.count, 0);
        expect(c.evaluatedBy).toBe('clients');
        expect(c.evaluatedImages).toBe(count);
        expect(c.accuracy).toBeCloseTo(sent.reduce((s, e) => s + e.accuracy * e.count, 0) / count, 12);
        expect(c.loss).toBeCloseTo(sent.reduce((s, e) => s + e.loss * e.count, 0) / count, 12);
      }
    }
    const csv = await fetch(`${url}/api/runs/${runs['shapes-fed']!.id}/metrics.csv`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.text());
    expect(csv.split('\n')[1]).toMatch(/,clients,\d+$/);
  }, 150_000);
});
