/**
 * Runs of tasks that are not Fashion-MNIST: a generated IDX folder of 32x32 greyscale shapes,
 * 6 classes, with no test set, so that the server cannot evaluate and each page scores the model
 * it receives on a held-out part of its images (Welcome.serverEvaluates false), and a generated
 * colour image folder (5 classes). One page trains on its demo shard; others on their own PNG
 * images of another size (40 high, 50 wide, colour), which the page converts to the task's
 * shape: greyscale for the IDX task, colour kept for the image-folder one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { PNG } from 'pngjs';
import { startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

const CLASSES = ['circle', 'ring', 'square', 'triangle', 'cross', 'bar'];
let coordinator: CoordinatorProcess;
let dir: string;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedtsa-task-browser-'));
  const idx = join(dir, 'shapes-idx');
  execFileSync('npm', ['run', '--silent', 'make-dataset', '--', '--kind', 'idx', '--out', idx, '--count', '1200'], { stdio: 'inherit' });
  // Without test files the server has no test set for the task: clients evaluate.
  for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) rmSync(join(idx, f));
  const images = join(dir, 'shapes-images');
  execFileSync('npm', ['run', '--silent', 'make-dataset', '--', '--kind', 'images', '--out', images, '--count', '200'], { stdio: 'inherit' });
  coordinator = await startCoordinator({ args: ['--task', idx, '--task', images] });
});
test.afterAll(async () => {
  await coordinator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageState {
  phase: string;
  task?: { name: string; inputShape: number[]; classNames: string[] };
  serverEvaluates?: boolean;
  data?: { source: string; count: number; shape: number[]; perClass: number[] };
  rounds: { round: number; accepted: boolean; numSamples: number; source: string; evaluation?: { accuracy: number; count: number } }[];
  errors: string[];
}
interface Round { round: number; updatesAccepted: number; clusters: { evaluatedBy?: string; evaluatedImages?: number; accuracy: number }[] }
const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);

const SETTINGS = { task: 'shapes-idx', rounds: 1, localEpochs: 1, batchSize: 16, learningRate: 0.05, roundDeadlineMs: 120_000, minClientsToStart: 1, minClientsPerCluster: 1 };

async function createRun(start: boolean, task = SETTINGS.task): Promise<{ id: string; joinToken: string }> {
  return coordinator.api('POST', '/api/runs', { name: 'e2e-task', settings: { stage2: { enabled: false }, ...SETTINGS, task }, start });
}

async function openAndJoin(page: Page, run: { id: string; joinToken: string }) {
  await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}&backend=wasm`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
}

/** One colour PNG of `height` x `width`: a filled shape of the class on a dark background. */
function drawPng(shape: 'circle' | 'square' | 'bar', height: number, width: number, colour: [number, number, number], offset: number): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [u, v] = [(x - width / 2 - offset) / (height / 3), (y - height / 2 + offset) / (height / 3)];
      const on = shape === 'circle' ? u * u + v * v < 1 : shape === 'square' ? Math.abs(u) < 0.8 && Math.abs(v) < 0.8 : Math.abs(u) < 1.2 && Math.abs(v) < 0.3;
      png.data.set(on ? [...colour, 255] : [20, 20, 30, 255], (y * width + x) * 4);
    }
  }
  return PNG.sync.write(png);
}

test('a page joins a 32x32, 6-class task, shows it, trains a round and reports its own evaluation', async ({ page }) => {
  const run = await createRun(true);
  await openAndJoin(page, run);
  await expect(page.locator('#task')).toHaveText('shapes-idx (32x32 greyscale images)', { timeout: 60_000 });
  await expect(page.locator('#classes')).toHaveText(`6: ${CLASSES.join(', ')}`);
  await expect(page.locator('#evaluation')).toContainText('this device tests the model it receives on 20% of its images');
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const state = await pageState(page);
  expect(state.errors).toEqual([]);
  expect(state.task).toEqual({ name: 'shapes-idx', inputShape: [32, 32, 1], classNames: CLASSES });
  expect(state.serverEvaluates).toBe(false);
  expect(state.data).toMatchObject({ source: 'demo', shape: [32, 32, 1] });
  const round = state.rounds[0]!;
  expect(round).toMatchObject({ round: 1, accepted: true, source: 'demo' });
  const held = Math.round(0.2 * state.data!.count);
  expect(round.evaluation?.count).toBe(held);
  expect(round.numSamples).toBe(state.data!.count - held);
  // The coordinator aggregated the round from this page's update and scored it with the page's evaluation.
  await expect.poll(async () => (await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`)).map((r) => r.updatesAccepted), { timeout: 60_000 }).toEqual([1]);
  const [recorded] = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  expect(recorded!.clusters[0]).toMatchObject({ evaluatedBy: 'clients', evaluatedImages: held });
});

/** Five 40x50 colour PNGs per class folder, in a new folder named `name`. */
function ownImages(name: string, folders: Record<string, 'circle' | 'square' | 'bar'>): string {
  const own = join(dir, name);
  for (const [folder, shape] of Object.entries(folders)) {
    mkdirSync(join(own, folder), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(own, folder, `${shape}-${i}.png`), drawPng(shape, 40, 50, [200, 60 + 30 * i, 40], i - 2));
  }
  return own;
}

test("a page's own 40x50 colour images are converted to the task's 32x32 greyscale and train a round", async ({ page }) => {
  // Folders named after classes (any letter case) or by class number: 5 is 'bar'.
  const own = ownImages('my-images', { circle: 'circle', SQUARE: 'square', 5: 'bar' });
  // Created stopped, started once the page holds its own images.
  const run = await createRun(false);
  await openAndJoin(page, run);
  await expect.poll(async () => (await pageState(page)).phase, { timeout: 120_000 }).toBe('ready');
  await page.locator('#own-data').setInputFiles(own);
  await expect.poll(async () => (await pageState(page)).data?.source, { timeout: 30_000 }).toBe('own');
  expect((await pageState(page)).data).toEqual({ source: 'own', count: 15, shape: [32, 32, 1], perClass: [5, 0, 5, 0, 0, 5] });
  await expect(page.locator('#data')).toHaveText('15 of your own images in 3 of 6 classes (kept on this device)');
  await coordinator.api('POST', `/api/runs/${run.id}/start`);
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const state = await pageState(page);
  expect(state.errors).toEqual([]);
  // 15 images: 3 held out to score the received model, 12 trained on.
  expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true, source: 'own', numSamples: 12, evaluation: { count: 3 } });
  await expect.poll(async () => (await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`)).map((r) => r.updatesAccepted), { timeout: 60_000 }).toEqual([1]);
  const [recorded] = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  expect(recorded!.clusters[0]).toMatchObject({ evaluatedBy: 'clients', evaluatedImages: 3 });
});

test("a colour task keeps the colour of a page's own images, resized to its 32x32", async ({ page }) => {
  const [task] = (await coordinator.api<{ name: string; inputShape: number[]; classNames: string[] }[]>('GET', '/api/tasks')).filter((t) => t.name === 'shapes-images');
  expect(task).toMatchObject({ inputShape: [32, 32, 3] });
  const own = ownImages('my-colour-images', { circle: 'circle', square: 'square' });
  const run = await createRun(false, 'shapes-images');
  await openAndJoin(page, run);
  await expect(page.locator('#task')).toHaveText('shapes-images (32x32 colour images)', { timeout: 60_000 });
  await expect.poll(async () => (await pageState(page)).phase, { timeout: 120_000 }).toBe('ready');
  await page.locator('#own-data').setInputFiles(own);
  await expect.poll(async () => (await pageState(page)).data?.source, { timeout: 30_000 }).toBe('own');
  const perClass = task!.classNames.map((c) => (c === 'circle' || c === 'square' ? 5 : 0));
  expect((await pageState(page)).data).toEqual({ source: 'own', count: 10, shape: [32, 32, 3], perClass });
  await coordinator.api('POST', `/api/runs/${run.id}/start`);
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  const state = await pageState(page);
  expect(state.errors).toEqual([]);
  expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true, source: 'own' });
  await expect.poll(async () => (await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`)).map((r) => r.updatesAccepted), { timeout: 60_000 }).toEqual([1]);
});
