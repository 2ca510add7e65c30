/** Shared by the coordinator's integration tests: a coordinator on port 0 with real data and a tiny generator. */
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@fedtsa/core/backend';
import { cosineSchedule } from '@fedtsa/core/diffusion/schedule';
import { DdpmTrainer } from '@fedtsa/core/diffusion/trainer';
import { detectTaskSource, loadTaskData } from '@fedtsa/node-io/datasets/task-data';
import { loadFashionMnist, type TrainTest } from '@fedtsa/node-io/fashion-mnist';
import { writeCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import { buildCoordinator, type Coordinator } from './app.ts';
import { DEFAULT_CONFIG } from './config.ts';

let data: TrainTest | undefined;
export function testData(): TrainTest {
  return (data ??= loadFashionMnist());
}

/** An untrained but complete generator checkpoint: enough to exercise Stage 2's plumbing. */
export async function tinyGenerator(): Promise<string> {
  await useBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'fedtsa-gen-'));
  const trainer = new DdpmTrainer({ imageShape: [28, 28, 1], numClasses: 10, channels: [8, 8, 8], embedDim: 16, groups: 4, patchSize: 2 },
    cosineSchedule(100), { learningRate: 1e-3, emaDecay: 0.9, labelDropout: 0.1 }, 1);
  writeCheckpoint(dir, await trainer.toCheckpoint({ purpose: 'test' }), { emaOnly: true });
  trainer.dispose();
  return dir;
}

export const ADMIN = 'test-admin-token';

/**
 * `samplesPerShard`: size of the demo shards (60 by default: fast, but erratic learners).
 * `identitiesPerMinute` (default 100,000: tests join many clients from one address) and `clientGraceMs` (default 5 minutes): see config.ts.
 */
export async function startCoordinator(options: {
  generatorDir?: string; dataDir?: string; samplesPerShard?: number; identitiesPerMinute?: number; clientGraceMs?: number;
  /** Tasks from folders, loaded by node-io as server.ts does. */
  tasks?: { dataRoot?: string; dirs?: string[] };
  /** The server's heavy steps (runs/server-work.ts): how long a close waits for its round's pool. */
  serverWork?: { poolWaitMs?: number };
} = {}): Promise<{ coordinator: Coordinator; url: string }> {
  const { train, test } = testData();
  const coordinator = await buildCoordinator({
    config: {
      // No built pages: what a route answers must not depend on whether `npm run build:web` ran before (e2e does).
      ...DEFAULT_CONFIG, clientDir: '/nonexistent', dashboardDir: '/nonexistent', port: 0, logLevel: 'warn', adminToken: ADMIN, eventsPerSecond: 1000, httpPerMinute: 10_000,
      identitiesPerMinute: options.identitiesPerMinute ?? 100_000, clientGraceMs: options.clientGraceMs ?? DEFAULT_CONFIG.clientGraceMs,
      dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'fedtsa-data-')), generatorDir: options.generatorDir ?? '/nonexistent',
    },
    data: { train, test },
    tasks: options.tasks && { ...options.tasks, load: (dir, name) => loadTaskData(detectTaskSource(dir, { name })) },
    demo: { shards: 12, samplesPerShard: options.samplesPerShard ?? 60, alpha: 0.5, seed: 1 },
    serverWork: options.serverWork,
  });
  const url = await coordinator.app.listen({ host: '127.0.0.1', port: 0 });
  return { coordinator, url };
}

/**
 * A coordinator per test file (startCoordinator's defaults), started before its tests and closed
 * after them by vitest hooks; the getter reads it inside a test.
 */
export function useCoordinator(): () => { coordinator: Coordinator; url: string } {
  let started: { coordinator: Coordinator; url: string } | undefined;
  beforeAll(async () => {
    started = await startCoordinator();
  }, 60_000);
  afterAll(async () => {
    await started?.coordinator.close();
  });
  return () => started as { coordinator: Coordinator; url: string };
}

/** Resolves when `predicate` holds, polling every 50 ms; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const FAST_SETTINGS = {
  roundDeadlineMs: 20_000, localEpochs: 1, batchSize: 16, learningRate: 0.1, expectedSamplesPerClient: 60,
  roundBudgetSec: 0.5, evalSamples: 300, minClientsPerCluster: 2,
  // Stage 2 on when the coordinator has a generator for the task (the default), Stage 1 only otherwise.
  stage2: { poolSize: 20, steps: 2, batchSize: 10, sampleSteps: 2, guidance: 1 },
};
