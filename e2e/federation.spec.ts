/**
 * Whole runs with several real browsers of different speeds: each page in its own context
 * (its own IndexedDB identity), slowed through CDP and forced onto wasm, a backend that the
 * throttle slows. The dashboard watches in another browser context.
 *
 * CDP's CPU throttling reaches only a page's own thread ("Operation is only supported for
 * pages, not workers", measured here), so the throttled pages train in-page (?worker=off,
 * the client's fallback for browsers without module workers). Measured that way, wasm
 * benchmark scores at rates 1, 2, 4, 8, 16 were 708, 278, 184, 78, 30 samples/s; in a
 * worker they did not follow the rate at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { writeIdxExample } from '../packages/node-io/src/datasets/make-example.ts';
import type { ClusterWidthReason } from '../packages/protocol/src/dashboard.ts';
import { ADMIN, startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';
import { joinRun, measureTiers, openAndMeasureOneByOne, openDevice } from './speed-tiers.ts';

let coordinator: CoordinatorProcess;
// Nearly IID demo shards: with two devices per cluster, strongly skewed shards can leave a
// cluster's model knowing two classes, and "accuracy rises" would test the dice, not the system.
// The data root holds two small 32x32, 6-class IDX folders for the dashboard's task tests: one
// with a test split, and one without (the server cannot score it: its clients evaluate).
test.beforeAll(async () => {
  const dataRoot = mkdtempSync(joinPath(tmpdir(), 'fedtsa-e2e-root-'));
  writeIdxExample(joinPath(dataRoot, 'shapes'), { trainCount: 600, testCount: 120 });
  writeIdxExample(joinPath(dataRoot, 'no-test'), { trainCount: 600, testCount: 1, seed: 5 });
  for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) rmSync(joinPath(dataRoot, 'no-test', f));
  coordinator = await startCoordinator({ demoAlpha: 100, args: ['--data-root', dataRoot] });
});
test.afterAll(async () => { await coordinator?.stop(); });

interface Cluster { index: number; widthRatio: number; memberIds: string[] }
interface RunInfo { id: string; state: string; completedRound: number; clustering: { clusters: Cluster[]; widthReasons?: ClusterWidthReason[] } | null }
interface Round { round: number; startedAt: number; closedAt: number; participants: number; updatesAccepted: number;
  clusters: { clusterIndex: number; widthRatio: number; accuracy: number; startAccuracy?: number }[] }
interface PageState { phase: string; clientId?: string; samplesPerSec?: number; rounds: { round: number; accepted: boolean }[]; errors: string[] }

const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);
const join = (page: Page, run: { id: string; joinToken: string }) => joinRun(page, coordinator.url, run);

async function openDashboard(browser: Browser, viewport = { width: 1280, height: 1000 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/dashboard/#token=${ADMIN}`);
  return { context, page };
}

test('six browsers in three measured speed tiers (CPU-throttled) form three clusters with widths 1 > 1/2 > 1/4, and all three learn', async ({ browser }, testInfo) => {
  test.setTimeout(900_000);
  const rates = [1, 1, 5, 5, 16, 16]; // where the rates start
  const settings = { rounds: 2, roundDeadlineMs: 240_000, minClientsToStart: rates.length, minClientsPerCluster: 2, localEpochs: 2, learningRate: 0.05, batchSize: 32 };
  // The budget is a run setting, fixed when the run is made, and the widths follow from it and
  // the measured speeds. So the pages first join a probe run that never starts, one at a time:
  // each measures its speed alone (remembered per browser context, so the run gets the same
  // scores), throttled only then, since a throttled page spins even when idle (speed-tiers.ts).
  const probe = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', { name: 'e2e-probe', start: false, settings: { ...settings, stage2: { enabled: false } } });
  const devices = await openAndMeasureOneByOne(browser, rates, (page) => join(page, probe));
  // Slowest tier first: pages 4 and 5 (from 16x), 2 and 3 (from 5x), 0 and 1 (1x); the slower tiers' rates follow the measurements.
  const measured = await measureTiers(devices, [[4, 5], [2, 3], [0, 1]],
    { localEpochs: settings.localEpochs, samplesPerClient: 300, minClusterSize: settings.minClientsPerCluster }, 6, (line) => {
      testInfo.annotations.push({ type: 'scores', description: line });
      console.log(line);
    });
  expect(measured, 'the throttled pages measured as three tiers, with a budget for widths 1/4, 1/2, 1').not.toBeNull();
  const { speeds, slowEnds, budget } = measured!;
  await coordinator.api('POST', `/api/runs/${probe.id}/stop`);

  const run = await coordinator.createRun({ ...settings, roundBudgetSec: budget.budgetSec });
  const dashboard = await openDashboard(browser);
  // Each joins unthrottled (its score is remembered; a page at 100x would take minutes to load), then trains throttled.
  for (const d of devices) {
    await join(d.page, run);
    await d.throttle(true);
  }
  await expect.poll(async () => (await coordinator.api<RunInfo>('GET', `/api/runs/${run.id}`)).state, { timeout: 720_000, intervals: [2000] }).toBe('completed');

  const ids = await Promise.all(devices.map(async (d) => (await pageState(d.page)).clientId as string));
  for (const d of devices) expect((await pageState(d.page)).errors).toEqual([]);
  const rounds = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  const clients = await coordinator.api<{ id: string; samplesPerSec: number; clusterIndex: number; widthRatio: number }[]>('GET', `/api/runs/${run.id}/clients`);
  for (const [i, id] of ids.entries()) expect(clients.find((c) => c.id === id)?.samplesPerSec, 'the remembered score').toBe(speeds[i]);
  testInfo.annotations.push({ type: 'accuracy', description: rounds.map((r) => `round ${r.round} (${((r.closedAt - r.startedAt) / 1000).toFixed(0)} s): ${r.clusters.map((c) => `#${c.clusterIndex} w${c.widthRatio} ${(c.startAccuracy !== undefined ? `${(c.startAccuracy * 100).toFixed(1)}->` : '')}${(c.accuracy * 100).toFixed(1)}% (${r.updatesAccepted}/${r.participants})`).join(' ')}`).join('; ') });
  console.log(testInfo.annotations.map((a) => `${a.type}: ${a.description}`).join('\n'));
  const info = await coordinator.api<RunInfo>('GET', `/api/runs/${run.id}`);
  const clusters = info.clustering?.clusters ?? [];
  // Slowest first: the 16x pages, the 5x pages, the 1x pages, with widths 1/4, 1/2, 1.
  expect(clusters.map((c) => [...c.memberIds].sort())).toEqual([[ids[4], ids[5]], [ids[2], ids[3]], [ids[0], ids[1]]].map((m) => (m as string[]).sort()));
  expect(clusters.map((c) => c.widthRatio)).toEqual([0.25, 0.5, 1]);
  for (const r of rounds) expect(r.clusters.map((c) => c.widthRatio)).toEqual([0.25, 0.5, 1]);
  // The run view says why: each cluster's slow end against the budget.
  const reasons = info.clustering?.widthReasons ?? [];
  expect(reasons.map((r) => r.widthRatio)).toEqual([0.25, 0.5, 1]);
  for (const [k, r] of reasons.entries()) {
    expect(r.roundBudgetSec).toBeCloseTo(budget.budgetSec, 9);
    expect(r.slowEndSamplesPerSec).toBeCloseTo(slowEnds[k] as number, 6);
    expect(r.fittingWidth).toBe(r.widthRatio);
    expect(r.estimatedSec).toBeLessThanOrEqual(r.roundBudgetSec);
  }

  expect(rounds.map((r) => r.round)).toEqual([1, 2]);
  for (const c of clusters) {
    const before = rounds[0]?.clusters.find((m) => m.clusterIndex === c.index)?.startAccuracy;
    const after = rounds[1]?.clusters.find((m) => m.clusterIndex === c.index)?.accuracy;
    expect(before, `cluster ${c.index} start accuracy`).toBeDefined();
    expect(after as number, `cluster ${c.index}: accuracy after round 2 against before round 1`).toBeGreaterThan(before as number);
  }

  // The dashboard followed the run live: clients, clusters, why each has its width, and the accuracy curve.
  const page = dashboard.page;
  await page.locator('#run-select').selectOption(run.id);
  const dashboardError = await page.evaluate(() => (window as unknown as { __dashboard: { lastError: string | null } }).__dashboard.lastError);
  expect(dashboardError, 'the dashboard stayed connected').toBeNull();
  await expect(page.locator('#run-state')).toHaveText('completed', { timeout: 30_000 });
  await expect(page.locator('#clients tbody tr')).toHaveCount(rates.length);
  for (const id of ids) await expect(page.locator(`#clients tbody tr[data-client-id="${id}"]`)).toBeVisible();
  await expect(page.locator('#width-reasons tbody tr')).toHaveCount(3);
  for (const [k, w] of [0.25, 0.5, 1].entries()) {
    const row = page.locator(`#width-reasons tbody tr[data-cluster="${k}"]`);
    await expect(row).toHaveAttribute('data-width', String(w));
    await expect(row).toContainText(w < 1 ? `fits the budget; width ${2 * w} would take` : 'the full model fits the budget');
  }
  const seen = await page.evaluate((runId) => {
    const s = (window as unknown as { __dashboard: { runs: Record<string, { clustering: { clusters: unknown[] } | null; rounds: { meanAccuracy: number }[] }> } }).__dashboard;
    const r = s.runs[runId];
    return { clusters: r?.clustering?.clusters.length ?? 0, accuracy: r?.rounds.map((x) => x.meanAccuracy) ?? [] };
  }, run.id);
  expect(seen.clusters).toBe(3);
  expect(seen.accuracy).toHaveLength(2);
  expect(seen.accuracy[1] as number).toBeGreaterThan(Math.min(...rounds[0]!.clusters.map((c) => c.startAccuracy as number)));
  await expect(page.locator('#downloads button')).toHaveCount(4); // three models and the CSV
  await page.screenshot({ path: testInfo.outputPath('dashboard.png'), fullPage: true });
  for (const d of devices) await d.context.close();
  await dashboard.context.close();
});

test('a page closed in the middle of a round does not hold the round past its deadline, and the next round runs', async ({ browser }) => {
  test.setTimeout(300_000);
  const deadlineMs = 30_000;
  // Created stopped, started once all three have joined; two are enough for the next round.
  const run = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', {
    name: 'e2e-vanish', start: false,
    settings: { rounds: 2, roundDeadlineMs: deadlineMs, minClientsToStart: 2, minClientsPerCluster: 3, localEpochs: 4, learningRate: 0.05, stage2: { enabled: false } },
  });
  const devices = [];
  // The victim is slowed 16x so that it is surely still training when its page closes.
  for (const rate of [1, 1, 16]) {
    const device = await openDevice(browser, rate);
    await join(device.page, run);
    devices.push(device);
  }
  await coordinator.api('POST', `/api/runs/${run.id}/start`);
  const victim = devices[2]!;
  await expect.poll(async () => (await pageState(victim.page)).phase, { timeout: 120_000 }).toBe('training');
  await victim.context.close();
  await expect.poll(async () => (await coordinator.api<RunInfo>('GET', `/api/runs/${run.id}`)).state, { timeout: 200_000, intervals: [1000] }).toBe('completed');
  const rounds = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  expect(rounds.map((r) => r.round)).toEqual([1, 2]);
  const first = rounds[0] as Round;
  expect(first.participants).toBe(3);
  expect(first.updatesAccepted).toBe(2);
  // Closed at the deadline plus aggregation and evaluation, not later.
  expect(first.closedAt - first.startedAt).toBeLessThan(deadlineMs + 15_000);
  // The next round went on with the two pages left.
  expect(rounds[1]!.updatesAccepted).toBe(2);
  for (const d of devices.slice(0, 2)) await d.context.close();
});

test('the dashboard without the admin token shows a sign-in, refuses a wrong one, and the control routes answer 401', async ({ browser }) => {
  const run = await coordinator.createRun({ rounds: 1 });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${coordinator.url}/dashboard/`);
  await expect(page.locator('#login')).toBeVisible();
  await expect(page.locator('#app')).toBeHidden();
  await page.locator('#token').fill('not-the-admin-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#login-error')).toContainText('FEDTSA_ERR_UNAUTHORIZED');
  await expect(page.locator('#app')).toBeHidden();

  for (const [method, path] of [
    ['GET', '/api/runs'], ['POST', '/api/runs'], ['GET', `/api/runs/${run.id}`], ['POST', `/api/runs/${run.id}/pause`],
    ['POST', `/api/runs/${run.id}/stop`], ['GET', `/api/runs/${run.id}/metrics.csv`], ['GET', `/api/runs/${run.id}/clusters/0/model.json`],
    ['GET', '/api/settings-schema'],
  ] as const) {
    const anonymous = await page.request.fetch(`${coordinator.url}${path}`, { method, data: method === 'POST' ? {} : undefined });
    expect(anonymous.status(), `${method} ${path} without a token`).toBe(401);
    expect((await anonymous.json()).code).toBe('FEDTSA_ERR_UNAUTHORIZED');
    const wrong = await page.request.fetch(`${coordinator.url}${path}`, { method, headers: { authorization: 'Bearer nope' }, data: method === 'POST' ? {} : undefined });
    expect(wrong.status(), `${method} ${path} with a wrong token`).toBe(401);
  }
  // The run is untouched by all of that.
  expect((await coordinator.api<RunInfo>('GET', `/api/runs/${run.id}`)).state).not.toBe('stopped');

  // With the token: signed in, and a run can be created and controlled from the page.
  await page.locator('#token').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#app')).toBeVisible();
  await page.locator('#new-run > summary').click();
  // The task is a select of the coordinator's tasks, the built-in one chosen first.
  await expect(page.locator('#setting-task')).toHaveValue('fashion-mnist');
  await expect(page.locator('#task-summary')).toContainText('28×28×1 (grey), 10 classes');
  await page.locator('#run-name-input').fill('from-the-dashboard');
  await page.locator('#setting-rounds').fill('2');
  await page.locator('#start-now').uncheck();
  await page.getByRole('button', { name: 'Create run' }).click();
  await expect(page.locator('#run-name')).toHaveText('from-the-dashboard');
  await expect(page.locator('#run-state')).toHaveText('created');
  await page.locator('#ctl-start').click();
  await expect(page.locator('#run-state')).toHaveText('running');
  await page.locator('#ctl-pause').click();
  await expect(page.locator('#run-state')).toHaveText('paused');
  const runs = await coordinator.api<{ name: string; state: string; settings: { rounds: number } }[]>('GET', '/api/runs');
  const created = runs.find((r) => r.name === 'from-the-dashboard');
  expect(created?.settings.rounds).toBe(2);
  expect(created?.state).toBe('paused');
  await expect(page.locator('#join-link')).toHaveValue(/\?run=.+&token=.+/);
  await expect(page.locator('#run-task')).toContainText('Task fashion-mnist: 28×28×1 (grey), 10 classes');
  await context.close();
});

test('the New run form registers a folder of the data root, refuses one outside it in plain words, and creates runs of the chosen task', async ({ browser }, testInfo) => {
  const { context, page } = await openDashboard(browser);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.locator('#new-run > summary').click();
  await expect(page.locator('#setting-task')).toHaveValue('fashion-mnist');
  await page.locator('#task-register > summary').click();
  await page.locator('#task-dir').fill('../');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.locator('#task-register-outcome')).toHaveText('Not registered: the folder lies outside the data root (--data-root)');
  await expect(page.locator('#task-register-outcome')).toHaveClass('error');

  await page.locator('#task-dir').fill('shapes');
  await page.locator('#task-dir').press('Enter'); // registers; does not submit the New run form
  await expect(page.locator('#task-register-outcome')).toContainText('Registered shapes: 32×32×1 (grey), 6 classes');
  await expect(page.locator('#setting-task')).toHaveValue('shapes');
  await expect(page.locator('#setting-task option:checked')).toHaveText('shapes (32×32×1 (grey), 6 classes, server evaluates, Stage 1 only)');
  // No generator for 'shapes': the form unticks and locks Stage 2, so the run it creates is not refused.
  await expect(page.locator('#setting-stage2-enabled')).toBeDisabled();
  await expect(page.locator('#setting-stage2-enabled')).not.toBeChecked();
  await expect(page.locator('#task-summary')).toContainText('evaluated on the server test set');
  await page.locator('#run-name-input').fill('shapes-from-the-dashboard');
  await page.locator('#start-now').uncheck();
  await page.getByRole('button', { name: 'Create run' }).click();
  await expect(page.locator('#run-name')).toHaveText('shapes-from-the-dashboard');
  await expect(page.locator('#run-task')).toContainText('Task shapes: 32×32×1 (grey), 6 classes:');
  await expect(page.locator('#eval-accuracy')).toContainText('Measured on the server test set');

  // A folder without a test split: its clients evaluate, and the run view says so.
  await page.locator('#new-run > summary').click();
  await page.locator('#task-dir').fill('no-test');
  await page.locator('#task-name').fill('shapes-fed');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.locator('#setting-task')).toHaveValue('shapes-fed');
  await expect(page.locator('#task-summary')).toContainText("evaluated on the clients' held-out data (the model they received)");
  await page.locator('#run-name-input').fill('fed-from-the-dashboard');
  await page.getByRole('button', { name: 'Create run' }).click();
  await expect(page.locator('#run-name')).toHaveText('fed-from-the-dashboard');
  await expect(page.locator('#run-task')).toHaveAttribute('data-evaluated-by', 'clients');
  await expect(page.locator('#eval-accuracy')).toContainText("Measured on the clients' held-out data (the model they received)");
  await expect(page.locator('#eval-loss')).toContainText("clients' held-out data");

  const runs = await coordinator.api<{ name: string; settings: { task: string } }[]>('GET', '/api/runs');
  expect(runs.find((r) => r.name === 'shapes-from-the-dashboard')?.settings.task).toBe('shapes');
  expect(runs.find((r) => r.name === 'fed-from-the-dashboard')?.settings.task).toBe('shapes-fed');
  expect(pageErrors, 'the charts took both kinds of evaluation without an error').toEqual([]);
  await page.screenshot({ path: testInfo.outputPath('dashboard-tasks.png'), fullPage: true });
  await context.close();
});

test('the dashboard is readable on a 360x640 phone', async ({ browser }, testInfo) => {
  const run = await coordinator.createRun({ rounds: 1 });
  const { context, page } = await openDashboard(browser, { width: 360, height: 640 });
  await page.locator('#run-select').selectOption(run.id);
  await expect(page.locator('#run-name')).toHaveText('e2e');
  await expect(page.locator('#run-task')).toContainText('Task fashion-mnist');
  // The New run form with its task control open must fit too.
  await page.locator('#new-run > summary').click();
  await page.locator('#task-register > summary').click();
  await expect(page.locator('#task-dir')).toBeVisible();
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  await page.screenshot({ path: testInfo.outputPath('dashboard-phone.png'), fullPage: true });
  await context.close();
});
