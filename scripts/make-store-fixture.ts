/**
 * Writes apps/coordinator/src/store/fixtures/release-6b39e18/: a small data folder made by the
 * store of release 6b39e18 itself, for migrations.test.ts. Not part of the suite; run it again
 * only to rebuild the fixture (its output is committed):
 *
 *   git worktree add /tmp/old 6b39e18 && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --import tsx scripts/make-store-fixture.ts /tmp/old
 *
 * Everything written comes from the old worktree's code (its SqliteStore, settings and core), with
 * fixed ids, times and seeds. The data folder is written in a temporary directory first and then
 * copied, so the model paths recorded inside it name a folder that no longer exists, as they do
 * for any data folder that has been moved.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const oldRoot = process.argv[2];
if (!oldRoot) throw new Error('usage: make-store-fixture.ts <worktree of release 6b39e18>');
const from = (path: string) => import(resolve(oldRoot, path));

const { SqliteStore } = await from('apps/coordinator/src/store/sqlite-store.ts');
const { resolveSettings } = await from('apps/coordinator/src/runs/settings.ts');
const { useBackend } = await from('packages/fedtsa-core/src/backend.ts');
const { initialWeights } = await from('packages/fedtsa-core/src/model.ts');
const { extractSubmodel } = await from('packages/fedtsa-core/src/submodel.ts');
const { deriveSeed } = await from('packages/fedtsa-core/src/rng.ts');

const SPEC = { inputShape: [28, 28, 1], numClasses: 10 };
const RUN_ID = 'run-fixture6b39';
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const WIDTHS = [0.125, 0.25]; // cluster 0, cluster 1: the two smallest widths keep the fixture small

await useBackend('cpu');
const settings = resolveSettings({ seed: 7, rounds: 4, stage2: { enabled: false } });
const full: Float32Array = initialWeights(SPEC, deriveSeed(settings.seed, 5));

const tmp = mkdtempSync(join(tmpdir(), 'fedtsa-fixture-'));
const store = new SqliteStore(tmp);
store.createRun({ id: RUN_ID, name: 'fixture of release 6b39e18', settings, state: 'running', joinToken: 'fixture-join-token', completedRound: 0, createdAt: T0, updatedAt: T0 });
const clients = [
  { id: 'c-slow', samplesPerSec: 120, backend: 'wasm', label: 'old phone', clusterIndex: 0, widthRatio: 0.125, demoShard: 3, status: 'left' },
  { id: 'c-fast', samplesPerSec: 950.5, backend: 'webgl', label: 'laptop', clusterIndex: 1, widthRatio: 0.25, demoShard: 5, status: 'disconnected' },
];
for (const [i, c] of clients.entries()) {
  store.upsertClient({ runId: RUN_ID, secretHash: `hash-of-${c.id}`, lastSeen: T0 + 60_000, joinedAt: T0 + 1000 * (i + 1), ...c });
}

const checks: { round: number; clusterIndex: number; length: number; sum: number; first: number[] }[] = [];
for (const round of [1, 2]) {
  // Round r's model: the real initial weights at the cluster's width, moved by a small known step.
  const models = WIDTHS.map((widthRatio, clusterIndex) => {
    const weights: Float32Array = extractSubmodel(full, SPEC, widthRatio).map((w: number, i: number) => w + 0.001 * round * ((i % 7) - 3));
    checks.push({ round, clusterIndex, length: weights.length, sum: weights.reduce((a: number, b: number) => a + b, 0), first: [...weights.slice(0, 3)] });
    return { clusterIndex, widthRatio, weights, memberIds: [clients[clusterIndex]!.id] };
  });
  const accuracy = [[0.4, 0.45], [0.5, 0.55]][round - 1]!;
  store.completeRound({
    runId: RUN_ID, round, startedAt: T0 + round * 10_000, closedAt: T0 + round * 10_000 + 4000, stage1Ms: 12 * round, stage2Ms: 0, stage2Stats: {},
    participants: 2, updatesAccepted: 2, updatesRefused: 0,
    clusters: WIDTHS.map((widthRatio, clusterIndex) => ({
      clusterIndex, widthRatio, members: 1, updates: 1, accuracy: accuracy[clusterIndex]!, loss: 2 - round * 0.25, medianDistance: 0.5 / round,
    })),
    meanAccuracy: (accuracy[0]! + accuracy[1]!) / 2,
    clustering: {
      boundaries: [400], grid: { x: [100, 400, 1000], density: [0.4, 0.1, 0.5] },
      clusters: WIDTHS.map((widthRatio, index) => ({ index, widthRatio, memberIds: [clients[index]!.id] })),
    },
  }, models);
}
store.close();

const out = resolve('apps/coordinator/src/store/fixtures/release-6b39e18');
rmSync(join(out, 'data'), { recursive: true, force: true });
cpSync(tmp, join(out, 'data'), { recursive: true });
rmSync(tmp, { recursive: true });
writeFileSync(join(out, 'expected-models.json'), `${JSON.stringify(checks, null, 1)}\n`);
console.log(`wrote ${out}`);
