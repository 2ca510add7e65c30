/**
 * The SQLite schema's versions. PRAGMA user_version holds the version a database is at; at open,
 * every step above it runs, in order, in one transaction (a step that fails rolls them all back and
 * leaves the file as it was). A database newer than this code is refused untouched.
 *
 * Steps are history: never edit one that has shipped, append a new one. A step's SQL and values
 * are spelled out here rather than taken from the live code (settings defaults, say), so that it
 * does tomorrow what it did the day it was written.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  up: string | ((db: Database.Database) => void);
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, clients, rounds and models: the schema of release 6b39e18',
    up: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, settings TEXT NOT NULL, state TEXT NOT NULL,
  join_token TEXT NOT NULL, completed_round INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE clients (
  run_id TEXT NOT NULL, id TEXT NOT NULL, secret_hash TEXT NOT NULL, samples_per_sec REAL NOT NULL,
  backend TEXT NOT NULL, label TEXT NOT NULL, cluster_index INTEGER, width_ratio REAL, demo_shard INTEGER,
  status TEXT NOT NULL, last_seen INTEGER NOT NULL, joined_at INTEGER NOT NULL, PRIMARY KEY (run_id, id)
);
CREATE TABLE rounds (
  run_id TEXT NOT NULL, round INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run_id, round)
);
CREATE TABLE models (
  run_id TEXT NOT NULL, round INTEGER NOT NULL, cluster_index INTEGER NOT NULL, width_ratio REAL NOT NULL,
  member_ids TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (run_id, round, cluster_index)
);`,
  },
  {
    version: 2,
    description: 'one-use device join tokens, and an index for the live clients list (issue 11)',
    // IF NOT EXISTS: builds between 6b39e18 and versioning created these without setting a version.
    up: `
CREATE INDEX IF NOT EXISTS clients_last_seen ON clients (run_id, last_seen);
CREATE TABLE IF NOT EXISTS device_tokens (
  run_id TEXT NOT NULL, token_hash TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL,
  used_by TEXT, used_at INTEGER, revoked_at INTEGER, PRIMARY KEY (run_id, token_hash)
);`,
  },
  {
    version: 3,
    description: "runs' settings gain the safeguards, join mode and teacher rule, at their defaults when absent",
    up: (db) => fillSettings(db, V3_SETTINGS, V3_STAGE2_SETTINGS),
  },
  {
    version: 4,
    description: "runs name a task instead of the fixed dataset 'fashion-mnist' (issue 14); tasks registered from folders",
    up: (db) => {
      const update = db.prepare('UPDATE runs SET settings = ? WHERE id = ?');
      for (const row of db.prepare('SELECT id, settings FROM runs').all() as { id: string; settings: string }[]) {
        const { dataset, ...settings } = JSON.parse(row.settings) as Record<string, unknown>;
        // Every run before version 4 trained Fashion-MNIST, the only dataset there was.
        update.run(JSON.stringify({ task: dataset ?? 'fashion-mnist', ...settings }), row.id);
      }
      db.exec(`CREATE TABLE tasks (name TEXT PRIMARY KEY, source TEXT NOT NULL, definition TEXT NOT NULL, created_at INTEGER NOT NULL);`);
    },
  },
  {
    version: 5,
    description: "runs' settings gain the participation policy (issue 16), off when absent: a run made before asked for neither",
    up: (db) => fillSettings(db, { requireCharging: false, requireVisible: false }, {}),
  },
  {
    version: 6,
    description: "runs' Stage 2 settings gain overlap (issue 17), off when absent: a run made before waited for mutual learning",
    up: (db) => fillSettings(db, {}, { overlap: false }),
  },
  {
    version: 7,
    description: "runs' settings gain the direction screen's consensus gate and the change limit's floor (issue 18), off when absent: a run made before screened and limited as it did",
    up: (db) => fillSettings(db, { minConsensus: -1, changeFloorOfNorm: 0 }, {}),
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The defaults of the run settings added after 6b39e18, as they were when version 3 was written. */
const V3_SETTINGS = {
  minCosine: -0.15, claimMultiple: 3, maxClientShare: 0.5, maxSamplesPerClient: 100_000, changeMultiple: 10, firstChangeOfNorm: 1, joinMode: 'shared',
};
const V3_STAGE2_SETTINGS = { teacherRule: true, teacherMaxAbsLogit: 100, teacherMinSkill: 0.05, teacherMaxLossRatio: 0 };

/** Adds the given fields to every run's settings where they are missing; present ones are kept. */
function fillSettings(db: Database.Database, top: Record<string, unknown>, stage2: Record<string, unknown>): void {
  const update = db.prepare('UPDATE runs SET settings = ? WHERE id = ?');
  for (const row of db.prepare('SELECT id, settings FROM runs').all() as { id: string; settings: string }[]) {
    const settings = JSON.parse(row.settings) as Record<string, unknown>;
    const next = { ...top, ...settings, stage2: { ...stage2, ...(settings.stage2 as Record<string, unknown> | undefined) } };
    update.run(JSON.stringify(next), row.id);
  }
}

export class SchemaVersionError extends Error {
  constructor(readonly file: string, readonly found: number, readonly known: number) {
    super(`${file} has schema version ${found}, but this fedtsa knows versions up to ${known}: it was written by a newer release. `
      + 'Upgrade fedtsa to open it (the file was left unchanged).');
    this.name = 'SchemaVersionError';
  }
}

/** The database's schema version; an unversioned one that already has the runs table is version 1. */
export function schemaVersion(db: Database.Database): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== 0) return version;
  const legacy = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get();
  return legacy ? 1 : 0;
}

/**
 * Brings `db` to the last version of `migrations` in one transaction and returns the versions it
 * went from and to. Throws SchemaVersionError, before writing anything, for a newer database.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  const from = schemaVersion(db);
  const to = migrations.length > 0 ? migrations[migrations.length - 1]!.version : 0;
  migrations.forEach((step, i) => {
    if (step.version !== i + 1) throw new Error(`migrate: step ${i} has version ${step.version}, expected ${i + 1} (versions run 1, 2, 3...)`);
  });
  if (from > to) throw new SchemaVersionError(db.name, from, to);
  if (from === to) return { from, to };
  db.transaction(() => {
    for (const step of migrations) {
      if (step.version <= from) continue;
      if (typeof step.up === 'string') db.exec(step.up);
      else step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }
  })();
  return { from, to };
}
