import { expect, test, type Page } from '@playwright/test';
import { startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

let coordinator: CoordinatorProcess;
test.beforeAll(async () => { coordinator = await startCoordinator(); });
test.afterAll(async () => { await coordinator?.stop(); });

interface PageState {
  phase: string; clientId?: string; backend?: string; clusterIndex?: number; widthRatio?: number;
  rounds: { round: number; accepted: boolean; numTensors: number }[]; errors: string[];
}
const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);

async function openAndJoin(page: Page, run: { id: string; joinToken: string }, extra = '') {
  await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}${extra}`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
}

const SETTINGS = { localEpochs: 1, batchSize: 32, learningRate: 0.05, roundDeadlineMs: 120_000, minClientsToStart: 1, minClientsPerCluster: 1 };

test('joins, benchmarks, trains three rounds and uploads, with flat tensor memory', async ({ page }) => {
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 3 });
  await openAndJoin(page, run);
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBeGreaterThanOrEqual(3);
  const state = await pageState(page);
  expect(state.errors).toEqual([]);
  expect(state.rounds.map((r) => r.accepted)).toEqual([true, true, true]);
  expect(state.rounds[2]!.numTensors).toBe(state.rounds[0]!.numTensors);
  await expect(page.locator('#backend')).not.toHaveText('measuring…');
  await expect(page.locator('#cluster')).toContainText('1 of 1');
  // The page hears "accepted" before the coordinator has aggregated and saved the round.
  await expect.poll(async () => (await coordinator.api<{ updatesAccepted: number }[]>('GET', `/api/runs/${run.id}/rounds`)).map((r) => r.updatesAccepted),
    { timeout: 60_000 }).toEqual([1, 1, 1]);
});

for (const backend of ['webgpu', 'webgl', 'wasm', 'cpu']) {
  test(`forced onto ${backend}, trains a round`, async ({ page }) => {
    const run = await coordinator.createRun({ ...SETTINGS, rounds: 1 });
    await openAndJoin(page, run, `&backend=${backend}`);
    await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
    const state = await pageState(page);
    expect(state.backend).toBe(backend);
    expect(state.rounds[0]!.accepted).toBe(true);
  });
}

test('fits a 360x640 phone screen without horizontal overflow', async ({ browser }, testInfo) => {
  const page = await browser.newPage({ viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 1 });
  await openAndJoin(page, run);
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  await page.screenshot({ path: testInfo.outputPath('phone-360x640.png'), fullPage: true });
  await page.close();
});

test('a reload in the middle of a round rejoins with the same identity', async ({ page }) => {
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 2, localEpochs: 3 });
  await openAndJoin(page, run, '&backend=cpu');
  await expect.poll(async () => (await pageState(page)).phase, { timeout: 150_000 }).toBe('training');
  const before = (await pageState(page)).clientId;
  expect(before).toBeTruthy();
  await page.reload();
  await expect.poll(async () => (await pageState(page)).clientId, { timeout: 60_000 }).toBe(before);
  // The task sent again on reconnect waits for the data read back from IndexedDB: the round that
  // was open at the reload is trained and accepted, not lost until its deadline.
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBeGreaterThanOrEqual(1);
  const first = (await pageState(page) as unknown as { rounds: { round: number; accepted: boolean }[] }).rounds[0];
  expect(first).toMatchObject({ round: 1, accepted: true });
  const clients = await coordinator.api<{ id: string }[]>('GET', `/api/runs/${run.id}/clients`);
  expect(clients.map((c) => c.id)).toEqual([before]);
});

test('tells the user when the join token is wrong', async ({ page }) => {
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 1 });
  await openAndJoin(page, { id: run.id, joinToken: 'not-the-token' }, '&backend=wasm');
  await expect(page.locator('#message')).toContainText('FEDTSA_ERR_BAD_TOKEN', { timeout: 60_000 });
});
