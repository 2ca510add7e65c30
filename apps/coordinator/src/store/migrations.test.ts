import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../runs/settings.ts';
import { ADMIN, startCoordinator } from '../test-helpers.ts';
import { LATEST_SCHEMA_VERSION, migrate, MIGRATIONS, SchemaVersionError } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { RoundRecord } from './types.ts';

/** Written by release 6b39e18's own store: scripts/make-store-fixture.ts, fixtures/release-6b39e18/README.md. */
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'release-6b39e18');
const EXPECTED_MODELS = JSON.parse(readFileSync(join(FIXTURE, 'expected-models.json'), 'utf8')) as
  { round: number; clusterIndex: number; length: number; sum: number; first: number[] }[];
const RUN_ID = 'run-fixture6b39';
const T0 = 1_767_225_600_000;

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedtsa-old-data-'));
  cpSync(join(FIXTURE, 'data'), dir, { recursive: true });
  return dir;
}

/** Opens the database file directly, runs `read` and closes it. */
function readDb<T>(dir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'fedtsa.sqlite'));
  try {
    return read(db);
  } finally {
    db.close();
  }
}
const userVersion = (dir: string) => readDb(dir, (db) => db.pragma('user_version', { simple: true }) as number);
/** Tables and indexes as SQLite keeps them, whitespace aside. */
const schemaOf = (dir: string) => readDb(dir, (db) => (db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all() as
  { type: string; name: string; sql: string | null }[]).map((r) => `${r.type} ${r.name}: ${(r.sql ?? '').replace(/\s+/g, ' ')}`));
/** Every non-empty file directly in a folder and its bytes: the database and any journal SQLite left with something in it. */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile() && statSync(join(dir, f)).size > 0)
  .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

describe('a data folder from release 6b39e18', () => {
  it('opens with what was written, is brought to the latest schema, takes the new features, and reopens unchanged', () => {
    const dir = copyFixture();
    expect(userVersion(dir)).toBe(0);

    let store = new SqliteStore(dir);
    const runs = store.listRuns();
    expect(runs.map((r) => [r.id, r.name, r.state, r.joinToken, r.completedRound, r.createdAt]))
      .toEqual([[RUN_ID, 'fixture of release 6b39e18', 'running', 'fixture-join-token', 2, T0]]);
    const settings = runs[0]!.settings;
    expect([settings.seed, settings.rounds, settings.stage2.enabled]).toEqual([7, 4, false]);
    // The settings added since are filled in at their defaults: the old run's settings are complete and valid today.
    expect(settings.joinMode).toBe('shared');
    expect(settings.stage2.teacherRule).toBe(true);
    // Safeguards added later keep what the run did before them: every cluster direction-screened, no floor on the change limit.
    expect([settings.minConsensus, settings.changeFloorOfNorm]).toEqual([-1, 0]);
    // It trained the only dataset there was: it now names the built-in task.
    expect(settings.task).toBe('fashion-mnist');
    expect('dataset' in settings).toBe(false);
    expect(resolveSettings(settings)).toEqual(settings);

    expect(store.listClients(RUN_ID).map((c) => [c.id, c.secretHash, c.samplesPerSec, c.backend, c.label, c.clusterIndex, c.widthRatio, c.demoShard, c.status, c.joinedAt]))
      .toEqual([
        ['c-slow', 'hash-of-c-slow', 120, 'wasm', 'old phone', 0, 0.125, 3, 'left', T0 + 1000],
        ['c-fast', 'hash-of-c-fast', 950.5, 'webgl', 'laptop', 1, 0.25, 5, 'disconnected', T0 + 2000],
      ]);

    const rounds = store.listRounds(RUN_ID);
    expect(rounds.map((r) => [r.round, r.stage1Ms, r.participants, r.clusters.map((c) => c.accuracy), r.clustering.boundaries]))
      .toEqual([[1, 12, 2, [0.4, 0.45], [400]], [2, 24, 2, [0.5, 0.55], [400]]]);
    expect(rounds[1]!.meanAccuracy).toBeCloseTo(0.525, 12);
    expect(rounds[1]!.incidents).toBeUndefined();

    expect(EXPECTED_MODELS).toHaveLength(4);
    for (const expected of EXPECTED_MODELS) {
      const model = store.loadModels(RUN_ID, expected.round)!.find((m) => m.clusterIndex === expected.clusterIndex)!;
      expect([model.widthRatio, model.memberIds]).toEqual([[0.125, 0.25][expected.clusterIndex], [['c-slow', 'c-fast'][expected.clusterIndex]]]);
      expect(model.weights.length).toBe(expected.length);
      expect([...model.weights.slice(0, 3)]).toEqual(expected.first);
      expect(model.weights.reduce((a, b) => a + b, 0)).toBe(expected.sum);
    }
    store.close();
    expect(userVersion(dir)).toBe(LATEST_SCHEMA_VERSION);

    // The new features work on the old run: device tokens, the live clients list, a further round.
    store = new SqliteStore(dir, { clientGraceMs: 1000 });
    store.createDeviceTokens([{ runId: RUN_ID, tokenHash: 'h-1', label: 'tablet', createdAt: T0 + 90_000, usedBy: null, usedAt: null, revokedAt: null }]);
    expect(store.claimDeviceToken(RUN_ID, 'h-1', 'c-new', T0 + 91_000)).toBe(true);
    expect(store.listDeviceTokens(RUN_ID).map((t) => [t.tokenHash, t.usedBy])).toEqual([['h-1', 'c-new']]);
    expect(store.listLiveClients(RUN_ID, T0 + 60_500).map((c) => c.id)).toEqual(['c-slow', 'c-fast']);
    const round3: RoundRecord = { ...rounds[1]!, round: 3, incidents: [] };
    const weights = store.loadModels(RUN_ID, 2)!.map((m) => ({ ...m, weights: m.weights.map((w) => w * 0.5) }));
    store.completeRound(round3, weights);
    expect(store.getRun(RUN_ID)!.completedRound).toBe(3);
    expect(store.listRounds(RUN_ID).map((r) => r.round)).toEqual([1, 2, 3]);
    expect(store.loadModels(RUN_ID, 3)!.map((m) => m.weights)).toEqual(weights.map((m) => m.weights));
    store.close();

    // Reopening is a no-op: the file stays as it was, and its schema is a fresh database's.
    const before = snapshot(dir);
    new SqliteStore(dir).close();
    expect(snapshot(dir)).toEqual(before);
    const fresh = mkdtempSync(join(tmpdir(), 'fedtsa-fresh-'));
    new SqliteStore(fresh).close();
    expect(userVersion(fresh)).toBe(LATEST_SCHEMA_VERSION);
    expect(schemaOf(dir)).toEqual(schemaOf(fresh));
  });

  it('is left as it was when a migration step fails', () => {
    const dir = copyFixture();
    const before = snapshot(dir);
    const failing = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, description: 'fails', up: 'CREATE TABLE extra (x); SELECT no_such_function();' }];
    expect(() => readDb(dir, (db) => migrate(db, failing))).toThrow(/no_such_function/);
    expect(snapshot(dir)).toEqual(before);
    expect(userVersion(dir)).toBe(0);
    expect(schemaOf(dir).some((s) => s.includes('device_tokens') || s.includes('extra'))).toBe(false);
  });

  it('starts a whole coordinator that lists the old run and serves its last models', async () => {
    const dir = copyFixture();
    const { coordinator, url } = await startCoordinator({ dataDir: dir });
    try {
      const auth = { authorization: `Bearer ${ADMIN}` };
      const res = await fetch(`${url}/api/runs`, { headers: auth });
      expect(res.status).toBe(200);
      const runs = await res.json() as { id: string; name: string; completedRound: number; settings: { seed: number } }[];
      expect(runs.map((r) => [r.id, r.name, r.completedRound, r.settings.seed])).toEqual([[RUN_ID, 'fixture of release 6b39e18', 2, 7]]);
      const bin = await fetch(`${url}/api/runs/${RUN_ID}/clusters/1/weights.bin`, { headers: auth });
      expect(bin.status).toBe(200);
      const saved = readFileSync(join(FIXTURE, 'data', 'runs', RUN_ID, 'round-00002', 'cluster-1.f32'));
      expect(Buffer.from(await bin.arrayBuffer()).equals(saved)).toBe(true);
    } finally {
      await coordinator.close();
    }
  });
});

describe('a database newer than this code', () => {
  it('is refused, naming both versions and the way out, and left byte-identical', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-future-'));
    new SqliteStore(dir).close();
    // What a newer release might have done: a table renamed, which an older store must not put back.
    readDb(dir, (db) => db.exec(`ALTER TABLE device_tokens RENAME TO join_tokens; PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 1}`));
    const before = snapshot(dir);
    let error: unknown;
    try {
      new SqliteStore(dir).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as Error).message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}, but this fedtsa knows versions up to ${LATEST_SCHEMA_VERSION}`);
    expect((error as Error).message).toContain('Upgrade fedtsa');
    expect(snapshot(dir)).toEqual(before);
  });

  it('stops a whole coordinator from starting on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-future-'));
    new SqliteStore(dir).close();
    readDb(dir, (db) => db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`));
    const before = snapshot(dir);
    await expect(startCoordinator({ dataDir: dir })).rejects.toThrow(SchemaVersionError);
    expect(snapshot(dir)).toEqual(before);
  });
});
