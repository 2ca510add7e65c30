/**
 * A colour task with Stage 2 on: the coordinator registers a generated 32x32x3 shapes folder
 * (npm run make-dataset -- --kind colour) whose generator is the committed
 * checkpoints/colour-shapes-ddpm (found by the task's name), two virtual clients in two speed
 * tiers and a browser page join, and the round closes with Stage 2 having generated a pool and
 * taught across the clusters. Stage 2 is asked for outright, which the coordinator refuses for
 * a task without a generator that fits it: the run's creation is the first check.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { startCoordinator, type CoordinatorProcess } from './coordinator-process.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
let coordinator: CoordinatorProcess;
let dir: string;
const clients: ChildProcess[] = [];

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedtsa-colour-'));
  const data = join(dir, 'colour-shapes');
  execFileSync('npm', ['run', '--silent', 'make-dataset', '--', '--kind', 'colour', '--out', data, '--count', '1500'], { cwd: REPO, stdio: 'inherit' });
  coordinator = await startCoordinator({ cwd: REPO, args: ['--task', data, '--generators', join(REPO, 'checkpoints')] });
});
test.afterAll(async () => {
  for (const c of clients) c.kill('SIGTERM');
  await coordinator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Round { round: number; updatesAccepted: number; clusters: { widthRatio: number }[]; stage2Stats: Record<string, number> }

test('a browser and two virtual clients train a round of a colour task with Stage 2 on', async ({ page }) => {
  const tasks = await coordinator.api<{ name: string; inputShape: number[]; generator: string | null }[]>('GET', '/api/tasks');
  expect(tasks.find((t) => t.name === 'colour-shapes')).toMatchObject({ inputShape: [32, 32, 3], generator: expect.stringMatching(/colour-shapes-ddpm$/) });
  const run = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', {
    name: 'colour stage 2', start: true,
    settings: {
      task: 'colour-shapes', rounds: 1, localEpochs: 1, batchSize: 16, learningRate: 0.05, roundDeadlineMs: 150_000,
      minClientsToStart: 3, minClientsPerCluster: 1, roundBudgetSec: 1,
      stage2: { enabled: true, poolSize: 20, refreshFraction: 0.5, sampleSteps: 2, guidance: 1, steps: 3, batchSize: 10, teacherRule: false },
    },
  });
  // Two tiers far apart, so the KDE makes two clusters and Stage 2 has models to teach each other.
  for (const [label, speed] of [['fast', '2000'], ['slow', '20']]) {
    const cli = join(REPO, 'apps/coordinator/src/virtual-client/cli.ts');
    clients.push(spawn(process.execPath, ['--import', 'tsx', cli, '--url', coordinator.url, '--run', run.id, `--token=${run.joinToken}`, '--count', '1', '--speed', speed, '--label', label],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}&backend=wasm`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
  await expect(page.locator('#task')).toContainText('colour-shapes (32x32 colour images)', { timeout: 60_000 });
  await expect.poll(async () => (await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`)).length, { timeout: 170_000 }).toBe(1);
  const [round] = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  expect(round?.updatesAccepted).toBe(3);
  expect(round?.clusters.length).toBeGreaterThan(1);
  expect(round?.stage2Stats.generated).toBeGreaterThan(0);
  expect(round?.stage2Stats.steps).toBe(3);
  const state = await page.evaluate(() => (window as unknown as { __fedtsa: { rounds: { accepted: boolean }[]; errors: string[] } }).__fedtsa);
  expect(state.rounds.map((r) => r.accepted)).toEqual([true]);
  expect(state.errors).toEqual([]);
});
