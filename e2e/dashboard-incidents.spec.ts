/**
 * The dashboard names what a round's safeguards did: two socket.io clients written against
 * docs/protocol.md (the independent client) join a run. In round 1 both upload the model scaled
 * by 1e3, so the cluster's Stage 1 result breaks the round invariant and is rolled back; in
 * round 2 one uploads NaN, refused on arrival. The dashboard lists both incidents under the
 * round timeline, with the cluster and the client's id.
 */
import { expect, test } from '@playwright/test';
import { IndependentClient } from '../apps/coordinator/src/protocol-suite/independent-client.ts';
import { ADMIN, startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

let coordinator: CoordinatorProcess;
test.beforeAll(async () => { coordinator = await startCoordinator(); });
test.afterAll(async () => { await coordinator?.stop(); });

test('the dashboard lists a refused update and a rolled-back Stage 1 with the client and the cluster', async ({ browser }) => {
  const run = await coordinator.createRun({ rounds: 2, minClientsToStart: 2, minClientsPerCluster: 2, roundDeadlineMs: 60_000 });
  const clients = await Promise.all([0, 1].map(() => IndependentClient.connect({ url: coordinator.url, runId: run.id, joinToken: run.joinToken })));
  for (const c of clients) expect((await c.report({ samplesPerSec: 500, backend: 'node' })).ok).toBe(true);
  const [good, bad] = clients as [IndependentClient, IndependentClient];
  const samples = (c: IndependentClient) => c.welcome.demoShard?.samples ?? 1;

  // Round 1: both scale the model by 1e3. The first updates of a run have no reference on arrival
  // and the two agree with each other at the close, so both are averaged: the cluster's Stage 1
  // result moves 999 x its starting norm and is rolled back.
  const [t1, u1] = await Promise.all([good.nextTask(30_000), bad.nextTask(30_000)]);
  for (const [c, t] of [[good, t1], [bad, u1]] as const) {
    const ack = await c.upload(t, IndependentClient.weightsOf(t).map((v) => v * 1e3), { numSamples: samples(c) });
    expect(ack.ok, JSON.stringify(ack)).toBe(true);
  }
  // Round 2: a small step, and NaN, refused on arrival.
  const [t2, u2] = await Promise.all([good.nextTask(30_000), bad.nextTask(30_000)]);
  expect((await good.upload(t2, IndependentClient.weightsOf(t2).map((v) => v * 1.001), { numSamples: samples(good) })).ok).toBe(true);
  const refused = await bad.upload(u2, IndependentClient.weightsOf(u2).map(() => NaN), { numSamples: samples(bad) });
  expect(refused.ok ? 'accepted' : refused.error.code).toBe('FEDTSA_ERR_NON_FINITE');
  await expect.poll(async () => (await coordinator.api<{ state: string }>('GET', `/api/runs/${run.id}`)).state, { timeout: 60_000 }).toBe('completed');

  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/dashboard/#token=${ADMIN}`);
  await page.locator('#run-select').selectOption(run.id);
  const round1 = page.locator('#round-incidents [data-round="1"]');
  await expect(round1).toContainText('stage1-rolled-back');
  await expect(round1).toContainText(`cluster ${t1.clusterIndex}`);
  const round2 = page.locator('#round-incidents [data-round="2"]');
  await expect(round2).toContainText('update-refused');
  await expect(round2).toContainText(bad.welcome.clientId);
  await expect(round2).toContainText('FEDTSA_ERR_NON_FINITE');
  for (const c of clients) c.close();
  await context.close();
});
