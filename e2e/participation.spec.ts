/**
 * Real devices (issue 16, items 3 and 4), in Debian's chromium against a coordinator process:
 * - a backend that fails mid-round (the test hook makes the benchmark's choice throw after a few
 *   batches): the round is redone on the next backend of the ranking, its update arrives and the
 *   coordinator records the fallback and the new capability;
 * - a page that may train only while charging, on a mocked discharging battery: it does not
 *   train, says why, and is withdrawn, so the round closes as soon as the other participant has
 *   returned (long before the deadline); a mocked plug-in brings it back and it trains;
 * - a page whose user asked to train only while visible, hidden in the middle of a round: it
 *   stops that round and withdraws; visible again, it trains the next one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
// Each test benchmarks a page and trains two rounds; on a loaded 2-core machine one took up to 1.7 min (29 s when idle).
test.describe.configure({ timeout: 300_000 });
let coordinator: CoordinatorProcess;
const children: ChildProcess[] = [];
test.beforeAll(async () => { coordinator = await startCoordinator(); });
test.afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await coordinator?.stop();
});

interface PageState {
  clientId?: string; backend?: string; benchmark?: { samplesPerSec: number };
  rounds: { round: number; accepted: boolean }[]; errors: string[];
  participation?: { available: boolean; reasons?: string[] };
  withdrawn: { round: number; reasons: string[] }[];
  fallbacks: { round: number; from: string; to: string; reason: string; samplesPerSec: number }[];
}
interface Incident { kind: string; clientId?: string; message: string }
interface Round { round: number; startedAt: number; closedAt: number; participants: number; updatesAccepted: number; incidents?: Incident[] }
interface Client { id: string; backend: string; samplesPerSec: number; status: string }

const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);
const rounds = (runId: string) => coordinator.api<Round[]>('GET', `/api/runs/${runId}/rounds`);
const clients = (runId: string) => coordinator.api<Client[]>('GET', `/api/runs/${runId}/clients`);

async function openAndJoin(page: Page, run: { id: string; joinToken: string }) {
  await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
}

const SETTINGS = { localEpochs: 1, batchSize: 16, learningRate: 0.05, minClientsPerCluster: 1 };

test('the chosen backend fails after a few batches: the round is redone on the next backend of the ranking and its update arrives, recorded as a fallback', async ({ page }) => {
  await page.addInitScript(() => { (window as unknown as { __fedtsaTestHooks: unknown }).__fedtsaTestHooks = { failBackendAfterBatches: 3 }; });
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 2, roundDeadlineMs: 150_000, minClientsToStart: 1 });
  await openAndJoin(page, run);
  await expect.poll(async () => (await pageState(page)).benchmark, { timeout: 150_000 }).toBeTruthy();
  const chosen = (await pageState(page)).backend;
  expect(chosen).toBeTruthy();

  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBeGreaterThanOrEqual(1);
  let state = await pageState(page);
  expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true });
  expect(state.fallbacks).toHaveLength(1);
  const fallback = state.fallbacks[0]!;
  expect(fallback).toMatchObject({ round: 1, from: chosen });
  expect(fallback.reason).toContain(`test hook: ${chosen} fails after 3 batches`);
  expect(fallback.to).not.toBe(chosen);
  expect(fallback.samplesPerSec).toBeGreaterThan(0);
  expect(state.errors).toEqual([]);

  // The coordinator recorded which backend computed the round's update, and the new capability.
  await expect.poll(async () => (await rounds(run.id)).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
  const [r1] = await rounds(run.id);
  expect(r1!.updatesAccepted).toBe(1);
  expect(r1!.incidents).toContainEqual(expect.objectContaining({
    kind: 'backend-fallback', clientId: state.clientId, message: expect.stringContaining(`trained on ${fallback.to} after ${chosen} failed`),
  }));
  await expect.poll(async () => (await clients(run.id)).find((c) => c.id === state.clientId)).toMatchObject({ backend: fallback.to, samplesPerSec: fallback.samplesPerSec });
  await expect(page.locator('#backend')).toHaveText(fallback.to);

  // Round 2 trains on the fallback from the start: no second fallback.
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(2);
  state = await pageState(page);
  expect(state.rounds[1]).toMatchObject({ round: 2, accepted: true });
  expect(state.fallbacks).toHaveLength(1);
});

test('only while charging, on a discharging battery: the page does not train, says why and is withdrawn so the round closes early; plugged in, it trains', async ({ page }) => {
  // A battery the test controls: the Battery Status API's shape (an EventTarget with `charging`).
  await page.addInitScript(() => {
    const battery = Object.assign(new EventTarget(), { charging: false, level: 0.4, chargingTime: Infinity, dischargingTime: 5400 });
    (window as unknown as { __battery: typeof battery }).__battery = battery;
    Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) });
  });
  const DEADLINE_MS = 120_000;
  const run = await coordinator.createRun({ ...SETTINGS, rounds: 2, roundDeadlineMs: DEADLINE_MS, minClientsToStart: 2, requireCharging: true });
  // A virtual client first, so that the page's capability report completes the quorum: round 1 selects the page.
  children.push(spawn(process.execPath, ['--import', 'tsx', join(REPO, 'apps/coordinator/src/virtual-client/cli.ts'), '--url', coordinator.url,
    '--run', run.id, `--token=${run.joinToken}`, '--count', '1', '--speed', '500', '--label', 'plugged'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] }));
  await expect.poll(async () => (await clients(run.id)).filter((c) => c.samplesPerSec > 0).length, { timeout: 60_000 }).toBe(1);

  await openAndJoin(page, run);
  await expect(page.locator('#participation')).toContainText('Not training: this device is not charging', { timeout: 60_000 });
  await expect(page.locator('#only-charging')).toBeChecked();
  await expect(page.locator('#only-charging')).toBeDisabled(); // the run's rule: not the user's to untick

  await expect.poll(async () => (await rounds(run.id)).length, { timeout: 150_000 }).toBe(1);
  const [r1] = await rounds(run.id);
  const state = await pageState(page);
  expect(r1!.participants).toBe(2);
  expect(r1!.updatesAccepted).toBe(1);
  expect(r1!.incidents).toContainEqual(expect.objectContaining({ kind: 'participant-withdrew', clientId: state.clientId }));
  // Closed as soon as the virtual client returned, not at the deadline.
  expect(r1!.closedAt - r1!.startedAt).toBeLessThan(DEADLINE_MS / 4);
  expect(state.rounds).toEqual([]);
  expect(state.withdrawn).toContainEqual({ round: 1, reasons: ['not-charging'] });
  expect(state.participation).toEqual({ available: false, reasons: ['not-charging'] });
  expect((await clients(run.id)).find((c) => c.id === state.clientId)?.status).toBe('unavailable');

  // Plugged in: the page reports it, round 2 starts with it, and it trains.
  await page.evaluate(() => {
    const battery = (window as unknown as { __battery: EventTarget & { charging: boolean } }).__battery;
    battery.charging = true;
    battery.dispatchEvent(new Event('chargingchange'));
  });
  await expect(page.locator('#participation')).toContainText('Training allowed: charging');
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const after = await pageState(page);
  expect(after.rounds[0]).toMatchObject({ round: 2, accepted: true });
  expect(after.errors).toEqual([]);
  await expect.poll(async () => (await rounds(run.id)).map((r) => r.updatesAccepted), { timeout: 60_000 }).toEqual([1, 2]);
});

test('only while visible (the user\'s choice): hidden mid-round, the page stops the round and withdraws; visible again, it trains the next one', async ({ page }) => {
  // Page Visibility the test controls.
  await page.addInitScript(() => {
    let hidden = false;
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
    (window as unknown as { __setHidden: (h: boolean) => void }).__setHidden = (h) => {
      hidden = h;
      document.dispatchEvent(new Event('visibilitychange'));
    };
  });
  const setHidden = (h: boolean) => page.evaluate((value) => (window as unknown as { __setHidden: (v: boolean) => void }).__setHidden(value), h);
  const DEADLINE_MS = 120_000;
  // Five local epochs: round 1 is still training when the test pauses it.
  const run = await coordinator.createRun({ ...SETTINGS, localEpochs: 5, rounds: 2, roundDeadlineMs: DEADLINE_MS, minClientsToStart: 1 });
  await openAndJoin(page, run);
  await page.locator('#only-visible').check();
  await expect(page.locator('#only-visible')).toBeEnabled(); // the user's choice, not the run's rule
  // Paused in the middle of round 1 (so that the round is surely still running), then hidden.
  await expect.poll(async () => (await pageState(page) as unknown as { phase: string }).phase, { timeout: 150_000 }).toBe('training');
  await page.locator('#pause').click();
  await setHidden(true);
  await expect.poll(async () => (await pageState(page)).withdrawn, { timeout: 30_000 }).toEqual([{ round: 1, reasons: ['page-hidden'] }]);
  await expect(page.locator('#participation')).toContainText('Not training: this page is hidden');
  await expect(page.locator('#participation')).toContainText('your choice');

  await expect.poll(async () => (await rounds(run.id)).length, { timeout: 60_000 }).toBe(1);
  const [r1] = await rounds(run.id);
  const state = await pageState(page);
  expect(r1!.updatesAccepted).toBe(0);
  expect(r1!.incidents).toContainEqual(expect.objectContaining({ kind: 'participant-withdrew', clientId: state.clientId }));
  expect(r1!.closedAt - r1!.startedAt).toBeLessThan(DEADLINE_MS / 4);
  expect(state.rounds).toEqual([]);

  await page.locator('#pause').click(); // resume
  await setHidden(false);
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const after = await pageState(page);
  expect(after.rounds[0]).toMatchObject({ round: 2, accepted: true });
  expect(after.errors).toEqual([]);
});
