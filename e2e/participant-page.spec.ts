/**
 * What a participant sees after a run (issue 16, part 5): a browser and two virtual clients
 * train three short rounds of the built-in task; the page then shows its cluster's accuracy by
 * round (one chart point per round, the coordinator's figures for the browser's cluster), the
 * device counts, a prediction for a picked PNG computed on the page with its cluster's final
 * model, and that model's download (tfjs files that tfjs loads).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { ADMIN, startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

const REPO = join(import.meta.dirname, '..');
let coordinator: CoordinatorProcess;
let virtual: ChildProcess | undefined;
test.beforeAll(async () => { coordinator = await startCoordinator(); });
test.afterAll(async () => {
  virtual?.kill('SIGTERM');
  await coordinator?.stop();
});

interface Round { round: number; clusters: { clusterIndex: number; accuracy: number; startAccuracy?: number }[]; clustering: { clusters: { index: number; memberIds: string[] }[] } }
interface PageState { clientId?: string; task?: { name: string; inputShape: number[]; classNames: string[] }; rounds: { round: number; accepted: boolean }[]; errors: string[] }

test('after a run the page charts its cluster\'s accuracy by round, predicts a picked image and offers the model, also after a reload', async ({ page }) => {
  test.setTimeout(300_000);
  const run = await coordinator.createRun({
    rounds: 3, localEpochs: 1, batchSize: 32, learningRate: 0.05, roundDeadlineMs: 120_000, minClientsToStart: 3, minClientsPerCluster: 1,
  });
  virtual = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'apps/coordinator/src/virtual-client/cli.ts'), '--url', coordinator.url, '--run', run.id,
    `--token=${run.joinToken}`, '--count', '2', '--speed', '400', '--label', 'virtual'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}&backend=wasm`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
  await expect.poll(async () => (await coordinator.api<{ state: string }>('GET', `/api/runs/${run.id}`)).state, { timeout: 280_000 }).toBe('completed');

  const state = await page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);
  const rounds = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  expect(rounds.map((r) => r.round)).toEqual([1, 2, 3]);
  // The browser's cluster in each round, and that cluster's accuracy as the coordinator recorded it.
  const expected = rounds.map((r) => {
    const cluster = r.clustering.clusters.find((c) => c.memberIds.includes(state.clientId as string))!.index;
    return { round: r.round, accuracy: r.clusters.find((c) => c.clusterIndex === cluster)!.accuracy };
  });

  const section = page.locator('#participant');
  await expect(section).toBeVisible();
  const points = section.locator('#accuracy-chart circle.point');
  // The last refresh follows the last round-closed; round 0 (the starting model) is drawn when measured.
  await expect.poll(async () => points.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-round'))).filter((r) => r > 0)), { timeout: 30_000 })
    .toEqual([1, 2, 3]);
  const drawn = await points.evaluateAll((els) => els.map((e) => ({ round: Number(e.getAttribute('data-round')), accuracy: Number(e.getAttribute('data-accuracy')) })));
  for (const e of expected) expect(drawn.find((d) => d.round === e.round)!.accuracy).toBeCloseTo(e.accuracy, 4);
  await expect(section.locator('#accuracy-chart polyline.series')).toHaveCount(1);
  await expect(section.locator('#participant-devices')).toContainText('3 joined in all');
  await expect(section.locator('#participant-devices')).toContainText('trained in round 3 of 3');

  // Try the model: a PNG drawn in the page (a light blob on black, 56x56: resized to the task's 28x28).
  const png = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(56, 56);
    const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 56, 56);
    ctx.fillStyle = '#ddd';
    ctx.fillRect(14, 8, 28, 40);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return Array.from(bytes);
  });
  // The model to try is the cluster's final one, fetched once the run is over (not the one sent for round 3).
  await expect(section.locator('#try-about')).toContainText('through round 3, as the run left it', { timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { __fedtsaParticipant: { held: unknown } }).__fedtsaParticipant.held))
    .toMatchObject({ trainedThrough: 3, source: 'final' });
  await expect(section.locator('#try-image')).toBeEnabled();
  await section.locator('#try-image').setInputFiles({ name: 'blob.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  const top = section.locator('#prediction-top strong');
  await expect(top).toHaveCount(1, { timeout: 60_000 });
  const classNames = state.task!.classNames;
  expect(classNames).toContain(await top.textContent());
  const listed = await section.locator('#prediction li').evaluateAll((els) => els.map((e) => ({
    name: e.querySelector('.name')?.textContent ?? '', value: Number.parseFloat(e.querySelector('.value')?.textContent ?? 'NaN'),
  })));
  expect(listed).toHaveLength(Math.min(5, classNames.length));
  expect(listed[0]!.name).toBe(await top.textContent());
  for (const l of listed) expect(classNames).toContain(l.name);
  expect(listed.map((l) => l.value)).toEqual([...listed.map((l) => l.value)].sort((a, b) => b - a));

  // The download: tfjs files whose metadata names the task and the width, and whose weights match the manifest.
  const downloads: { name: string; path: string }[] = [];
  page.on('download', (d) => { void d.path().then((path) => downloads.push({ name: d.suggestedFilename(), path })); });
  await section.getByRole('button', { name: 'Download the model' }).click();
  await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(2);
  const json = downloads.find((d) => d.name.endsWith('.json'))!;
  const bin = downloads.find((d) => d.name.endsWith('.weights.bin'))!;
  expect(json.name).toMatch(new RegExp(`^fedtsa-${state.task!.name}-cluster\\d+-round3\\.json$`));
  const model = JSON.parse(readFileSync(json.path, 'utf8')) as {
    userDefinedMetadata: { fedtsa: { trainedThrough: number; widthRatio: number; task: { name: string; classNames: string[] } } };
    weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[];
  };
  expect(model.userDefinedMetadata.fedtsa).toMatchObject({ trainedThrough: 3, task: { name: state.task!.name, classNames } });
  expect(model.userDefinedMetadata.fedtsa.widthRatio).toBeGreaterThan(0);
  const values = model.weightsManifest.flatMap((g) => g.weights).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  expect(readFileSync(bin.path).byteLength).toBe(values * 4);
  expect(model.weightsManifest[0]!.paths).toEqual([`./${bin.name}`]);
  // The same weights as the coordinator's final model of the browser's cluster (its admin route).
  const clusterIndex = Number(/-cluster(\d+)-/.exec(json.name)![1]) - 1;
  const served = await fetch(`${coordinator.url}/api/runs/${run.id}/clusters/${clusterIndex}/weights.bin`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(Buffer.from(await served.arrayBuffer()).equals(readFileSync(bin.path))).toBe(true);
  // tfjs loads the two files as they are (in a process of its own: e2e/load-model.ts says why), and the model gives one finite logit per class.
  const check = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'e2e/load-model.ts'), json.path, bin.path, JSON.stringify(state.task!.inputShape)],
    { cwd: REPO, encoding: 'utf8' })) as { shape: number[]; finite: boolean };
  expect(check).toEqual({ shape: [1, classNames.length], finite: true });

  expect(state.rounds.every((r) => r.accepted)).toBe(true);
  expect(state.errors).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __fedtsaParticipant: { errors: string[] } }).__fedtsaParticipant.errors)).toEqual([]);

  // Reloaded after the run (the coordinator now refuses its socket), the page still shows the chart and the final model.
  await page.reload();
  await expect(page.locator('#message')).toContainText('This run has ended', { timeout: 30_000 });
  await expect.poll(async () => points.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-round'))).filter((r) => r > 0)), { timeout: 30_000 })
    .toEqual([1, 2, 3]);
  await expect(section.locator('#try-about')).toContainText('through round 3, as the run left it', { timeout: 30_000 });
  await section.locator('#try-image').setInputFiles({ name: 'blob.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await expect(section.locator('#prediction-top strong')).toHaveCount(1, { timeout: 60_000 });
  expect(classNames).toContain(await section.locator('#prediction-top strong').textContent());
});
