/**
 * The synthetic pool leaves the round: the generation worker makes a run's pool from the moment
 * the run is created, into the pool store under the data folder; a close takes what is made and
 * never waits for the rest; a restart (or another run with the same generator and seed) finds
 * the chunks again instead of drawing them.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import type { Coordinator } from '../app.ts';
import { FAST_SETTINGS, startCoordinator, tinyGenerator, until } from '../test-helpers.ts';
import { VirtualClient } from '../virtual-client/virtual-client.ts';
import { PoolGeneration } from './pool-generation.ts';
import { WorkerServerWork } from './server-work.ts';

const FMNIST_GENERATOR = fileURLToPath(new URL('../../../../checkpoints/fmnist-ddpm', import.meta.url));

const open: Coordinator[] = [];
const clients: VirtualClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of open.splice(0)) await c.close();
});

async function coordinatorWith(generatorDir: string, dataDir: string, poolWaitMs?: number) {
  const started = await startCoordinator({ generatorDir, dataDir, serverWork: { poolWaitMs } });
  open.push(started.coordinator);
  return started;
}

const progressOf = (c: Coordinator, runId: string) => c.registry.get(runId)?.poolProgress as PoolProgress;

describe('background pool generation', () => {
  it('closes round 1 without waiting for the pool: a real generator at default sampling settings, Stage 2 skipped for want of two batches, and why', async () => {
    const { coordinator, url } = await coordinatorWith(FMNIST_GENERATOR, mkdtempSync(join(tmpdir(), 'fedtsa-data-')), 0);
    // Default Stage 2 sampling (pool 300, 25 DDIM steps): drawing its fill takes minutes on a CPU core.
    const engine = coordinator.registry.create('first-round', { ...FAST_SETTINGS, rounds: 2, minClientsToStart: 4, stage2: {} });
    const s2 = engine.record.settings.stage2;
    expect([s2.poolSize, s2.sampleSteps, s2.enabled]).toEqual([300, 25, true]);
    // Generation starts with the run, before it is started or anyone joined.
    expect(progressOf(coordinator, engine.record.id)).toMatchObject({ fillTarget: 300 });
    engine.start();
    for (const [i, speed] of [1500, 1600, 40, 44].entries()) {
      clients.push(new VirtualClient({ url, runId: engine.record.id, joinToken: engine.record.joinToken, samplesPerSec: speed, label: `c${i}` }));
    }
    await until(() => engine.record.completedRound >= 1, 120_000, 'round 1 closed');
    const [round] = coordinator.store.listRounds(engine.record.id);
    expect(round?.clustering.clusters.length).toBe(2);
    const stats = round?.stage2Stats ?? {};
    expect(stats.poolSize).toBe(300);
    expect(stats.poolReady).toBeLessThan(128);
    expect(stats.stage2Skipped).toBe(1);
    expect(stats.mutualLearningMs).toBeUndefined();
    // The run view carries the background generation's progress for the dashboard: the fill and round 2's refresh of 30.
    const view = (await fetch(`${url}/api/runs/${engine.record.id}`, { headers: { authorization: 'Bearer test-admin-token' } }).then((r) => r.json())) as { pool: PoolProgress };
    expect(view.pool).toMatchObject({ fillTarget: 300, imagesTarget: 330 });
    expect(view.pool.fillReady).toBeLessThan(300);
  }, 180_000);

  it('keeps the pool under the data folder; a restart and a new run with the same seed find every chunk instead of drawing it', async () => {
    const generatorDir = await tinyGenerator();
    const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-data-'));
    const settings = { ...FAST_SETTINGS, rounds: 3, seed: 11, stage2: { ...FAST_SETTINGS.stage2, poolSize: 40, refreshFraction: 0.5 } };
    const first = (await coordinatorWith(generatorDir, dataDir)).coordinator;
    const run = first.registry.create('pool', settings).record.id;
    await until(() => progressOf(first, run).state === 'ready', 60_000, 'the pool made');
    // The fill (40) and the refreshes of rounds 2 and 3 (20 each).
    expect(progressOf(first, run)).toMatchObject({ imagesTarget: 80, imagesReady: 80, imagesGenerated: 80, imagesReused: 0, readyThroughRound: 3, fillReady: 40 });
    expect(progressOf(first, run).imagesPerSec).toBeGreaterThan(0);
    const pools = join(dataDir, 'pools');
    expect(existsSync(pools)).toBe(true);
    // Chunks of 25 at most: the fill in 2, each refresh in 1.
    expect(readdirSync(join(pools, readdirSync(pools)[0] as string)).filter((f) => f.endsWith('.f32')).length).toBe(4);
    await first.close();
    open.splice(open.indexOf(first), 1);

    const second = (await coordinatorWith(generatorDir, dataDir)).coordinator;
    expect(second.registry.get(run)).toBeDefined();
    await until(() => progressOf(second, run)?.state === 'ready', 60_000, 'the restored run\'s pool found');
    expect(progressOf(second, run)).toMatchObject({ imagesReady: 80, imagesGenerated: 0, imagesReused: 80 });
    const again = second.registry.create('same-seed', settings).record.id;
    const other = second.registry.create('other-seed', { ...settings, seed: 12 }).record.id;
    await until(() => progressOf(second, again).state === 'ready' && progressOf(second, other).state === 'ready', 60_000, 'both new pools');
    expect(progressOf(second, again)).toMatchObject({ imagesGenerated: 0, imagesReused: 80 });
    expect(progressOf(second, other)).toMatchObject({ imagesGenerated: 80, imagesReused: 0 });
    // A run that stops is forgotten by the generation worker; a run without Stage 2 has no pool.
    second.registry.get(other)?.stop();
    expect(second.registry.get(other)?.poolProgress).toBeNull();
    const stage1 = second.registry.create('stage1', { ...settings, stage2: { enabled: false } }).record.id;
    expect(second.registry.get(stage1)?.poolProgress).toBeNull();
  }, 180_000);

  it('holds generation off while a close runs, and goes on after it', async () => {
    const generatorDir = await tinyGenerator();
    const pools = await PoolGeneration.start({ poolDir: mkdtempSync(join(tmpdir(), 'fedtsa-pools-')) });
    try {
      const job = { runId: 'r', generatorDir, sampleSteps: 2, guidance: 1, size: 50, refreshFraction: 0.5, seed: 3, rounds: 2, horizon: 2 };
      await pools.holdingOff(async () => {
        pools.ensure(job);
        await until(() => pools.progressOf('r')?.state === 'generating', 30_000, 'the job taken up');
        // Two chunks take the tiny generator well under a second when it is not held off.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(pools.progressOf('r')?.imagesReady).toBe(0);
      });
      await until(() => pools.progressOf('r')?.state === 'ready', 30_000, 'the pool made after the close');
      expect(pools.progressOf('r')).toMatchObject({ imagesReady: 75, readyThroughRound: 2 });
    } finally {
      await pools.close();
    }
  }, 60_000);

  it('makes a long run\'s pool a few rounds ahead of it, and further as it moves on', async () => {
    const generatorDir = await tinyGenerator();
    const pools = await PoolGeneration.start({ poolDir: mkdtempSync(join(tmpdir(), 'fedtsa-pools-')) });
    try {
      pools.ensure({ runId: 'long', generatorDir, sampleSteps: 2, guidance: 1, size: 20, refreshFraction: 0.5, seed: 4, rounds: 1000, horizon: 3 });
      await until(() => pools.progressOf('long')?.state === 'ahead', 30_000, 'made as far ahead as asked');
      // The fill (20) and the refreshes of rounds 2 and 3 (10 each), of 20 + 999 * 10 planned.
      expect(pools.progressOf('long')).toMatchObject({ readyThroughRound: 3, imagesReady: 40, imagesTarget: 10_010 });
      pools.advance('long', 6);
      await until(() => pools.progressOf('long')?.readyThroughRound === 6, 30_000, 'made up to the new horizon');
      expect(pools.progressOf('long')).toMatchObject({ state: 'ahead', imagesReady: 70 });
    } finally {
      await pools.close();
    }
  }, 60_000);

  it('reports a generator it cannot load as a failed pool, and refuses a bad wait', async () => {
    const { coordinator } = await coordinatorWith('/nonexistent', mkdtempSync(join(tmpdir(), 'fedtsa-data-')));
    // The built-in task has no generator here: no pool at all.
    expect(coordinator.registry.create('no-generator', FAST_SETTINGS).poolProgress).toBeNull();
    const work = await WorkerServerWork.start({ dataDir: mkdtempSync(join(tmpdir(), 'fedtsa-data-')) });
    try {
      const stage2 = coordinator.registry.create('x', { ...FAST_SETTINGS, stage2: { enabled: false } }).record.settings.stage2;
      const events: string[] = [];
      work.onPoolProgress((runId) => events.push(runId));
      work.ensurePool({ runId: 'r1', generatorDir: '/nonexistent-generator', stage2, seed: 1, rounds: 2, nextRound: 1 });
      await until(() => work.poolProgress('r1')?.state === 'failed', 30_000, 'the failure reported');
      expect(work.poolProgress('r1')?.error).toMatch(/no generator checkpoint in \/nonexistent-generator/);
      expect(events).toContain('r1');
      expect(work.poolProgress('unknown')).toBeNull();
    } finally {
      await work.close();
    }
    await expect(WorkerServerWork.start({ dataDir: '/tmp', poolWaitMs: -1 })).rejects.toThrow(/poolWaitMs must be/);
  }, 60_000);
});
