/**
 * The embedded default store: SQLite (WAL, so a SIGKILL never loses a committed
 * transaction) for runs, clients, rounds and device tokens, and one binary file per cluster model and round
 * under dataDir/runs/<run>/round-<n>/. Model files are written and fsynced before the
 * transaction that marks the round complete, so a completed round always has its files.
 * The schema is versioned (migrations.ts): an older database is migrated at open, a newer one refused untouched.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskDefinition } from '@fedtsa/core/task';
import { migrate } from './migrations.ts';
import type { ClientRecord, ClusterModelRecord, DeviceTokenRecord, RoundRecord, RunRecord, RunStore } from './types.ts';

interface RunRow { id: string; name: string; settings: string; state: string; join_token: string; completed_round: number; created_at: number; updated_at: number }
interface ClientRow {
  run_id: string; id: string; secret_hash: string; samples_per_sec: number; backend: string; label: string;
  cluster_index: number | null; width_ratio: number | null; demo_shard: number | null; status: string; last_seen: number; joined_at: number;
}
interface DeviceTokenRow { run_id: string; token_hash: string; label: string; created_at: number; used_by: string | null; used_at: number | null; revoked_at: number | null }
interface ModelRow { cluster_index: number; width_ratio: number; member_ids: string; file: string }

function writeFileDurably(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export interface StoreOptions {
  /** How long a client that disconnected or left stays in listLiveClients, ms. Default 5 minutes. */
  clientGraceMs?: number;
}

export class SqliteStore implements RunStore {
  private readonly db: Database.Database;
  private readonly clientGraceMs: number;

  constructor(private readonly dataDir: string, options: StoreOptions = {}) {
    this.clientGraceMs = options.clientGraceMs ?? 5 * 60_000;
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'fedtsa.sqlite'));
    try {
      // Before anything else writes: a database from a newer release is refused as it is.
      migrate(this.db);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  createRun(run: RunRecord): void {
    this.db.prepare(`INSERT INTO runs VALUES (@id, @name, @settings, @state, @joinToken, @completedRound, @createdAt, @updatedAt)`)
      .run({ ...run, settings: JSON.stringify(run.settings) });
  }

  private toRun(row: RunRow): RunRecord {
    return {
      id: row.id, name: row.name, settings: JSON.parse(row.settings), state: row.state as RunRecord['state'],
      joinToken: row.join_token, completedRound: row.completed_round, createdAt: row.created_at, updatedAt: row.updated_at,
    };
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && this.toRun(row);
  }

  listRuns(): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY created_at').all() as RunRow[]).map((r) => this.toRun(r));
  }

  updateRun(id: string, patch: Partial<Pick<RunRecord, 'state' | 'settings' | 'name'>>): void {
    const run = this.getRun(id);
    if (!run) throw new Error(`updateRun: no run ${id}`);
    const next = { ...run, ...patch, updatedAt: Date.now() };
    this.db.prepare('UPDATE runs SET name = ?, settings = ?, state = ?, updated_at = ? WHERE id = ?')
      .run(next.name, JSON.stringify(next.settings), next.state, next.updatedAt, id);
  }

  upsertClient(c: ClientRecord): void {
    this.db.prepare(`INSERT INTO clients VALUES (@runId, @id, @secretHash, @samplesPerSec, @backend, @label, @clusterIndex, @widthRatio,
      @demoShard, @status, @lastSeen, @joinedAt)
      ON CONFLICT (run_id, id) DO UPDATE SET samples_per_sec = excluded.samples_per_sec, backend = excluded.backend, label = excluded.label,
      cluster_index = excluded.cluster_index, width_ratio = excluded.width_ratio, demo_shard = excluded.demo_shard,
      status = excluded.status, last_seen = excluded.last_seen`).run(c);
  }

  private toClient(r: ClientRow): ClientRecord {
    return {
      runId: r.run_id, id: r.id, secretHash: r.secret_hash, samplesPerSec: r.samples_per_sec, backend: r.backend, label: r.label,
      clusterIndex: r.cluster_index, widthRatio: r.width_ratio, demoShard: r.demo_shard, status: r.status as ClientRecord['status'],
      lastSeen: r.last_seen, joinedAt: r.joined_at,
    };
  }

  getClient(runId: string, clientId: string): ClientRecord | undefined {
    const row = this.db.prepare('SELECT * FROM clients WHERE run_id = ? AND id = ?').get(runId, clientId) as ClientRow | undefined;
    return row && this.toClient(row);
  }

  listClients(runId: string): ClientRecord[] {
    return (this.db.prepare('SELECT * FROM clients WHERE run_id = ? ORDER BY joined_at').all(runId) as ClientRow[]).map((r) => this.toClient(r));
  }

  listLiveClients(runId: string, now: number): ClientRecord[] {
    return (this.db.prepare(`SELECT * FROM clients WHERE run_id = ? AND (status IN ('connected', 'training') OR last_seen >= ?) ORDER BY joined_at`)
      .all(runId, now - this.clientGraceMs) as ClientRow[]).map((r) => this.toClient(r));
  }

  createDeviceTokens(tokens: DeviceTokenRecord[]): void {
    const insert = this.db.prepare('INSERT INTO device_tokens VALUES (@runId, @tokenHash, @label, @createdAt, @usedBy, @usedAt, @revokedAt)');
    this.db.transaction(() => { for (const t of tokens) insert.run(t); })();
  }

  private toDeviceToken(r: DeviceTokenRow): DeviceTokenRecord {
    return { runId: r.run_id, tokenHash: r.token_hash, label: r.label, createdAt: r.created_at, usedBy: r.used_by, usedAt: r.used_at, revokedAt: r.revoked_at };
  }

  listDeviceTokens(runId: string): DeviceTokenRecord[] {
    return (this.db.prepare('SELECT * FROM device_tokens WHERE run_id = ? ORDER BY created_at, rowid').all(runId) as DeviceTokenRow[]).map((r) => this.toDeviceToken(r));
  }

  getDeviceToken(runId: string, tokenHash: string): DeviceTokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM device_tokens WHERE run_id = ? AND token_hash = ?').get(runId, tokenHash) as DeviceTokenRow | undefined;
    return row && this.toDeviceToken(row);
  }

  claimDeviceToken(runId: string, tokenHash: string, clientId: string, at: number): boolean {
    return this.db.prepare('UPDATE device_tokens SET used_by = ?, used_at = ? WHERE run_id = ? AND token_hash = ? AND used_by IS NULL AND revoked_at IS NULL')
      .run(clientId, at, runId, tokenHash).changes === 1;
  }

  revokeDeviceToken(runId: string, tokenHash: string, at: number): boolean {
    return this.db.prepare('UPDATE device_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE run_id = ? AND token_hash = ?')
      .run(at, runId, tokenHash).changes === 1;
  }

  private modelPath(runId: string, round: number, clusterIndex: number): string {
    return join(this.dataDir, 'runs', runId, `round-${String(round).padStart(5, '0')}`, `cluster-${clusterIndex}.f32`);
  }

  completeRound(round: RoundRecord, models: ClusterModelRecord[]): void {
    const dir = join(this.dataDir, 'runs', round.runId, `round-${String(round.round).padStart(5, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (const m of models) {
      const w = m.weights;
      writeFileDurably(this.modelPath(round.runId, round.round, m.clusterIndex), new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    }
    const tx = this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO rounds VALUES (?, ?, ?)').run(round.runId, round.round, JSON.stringify(round));
      this.db.prepare('DELETE FROM models WHERE run_id = ? AND round = ?').run(round.runId, round.round);
      const insert = this.db.prepare('INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)');
      for (const m of models) {
        insert.run(round.runId, round.round, m.clusterIndex, m.widthRatio, JSON.stringify(m.memberIds), this.modelPath(round.runId, round.round, m.clusterIndex));
      }
      this.db.prepare('UPDATE runs SET completed_round = MAX(completed_round, ?), updated_at = ? WHERE id = ?').run(round.round, Date.now(), round.runId);
    });
    tx();
  }

  listRounds(runId: string): RoundRecord[] {
    return (this.db.prepare('SELECT record FROM rounds WHERE run_id = ? AND round > 0 ORDER BY round').all(runId) as { record: string }[])
      .map((r) => JSON.parse(r.record) as RoundRecord);
  }

  loadModels(runId: string, round: number): ClusterModelRecord[] | undefined {
    const rows = this.db.prepare('SELECT cluster_index, width_ratio, member_ids, file FROM models WHERE run_id = ? AND round = ? ORDER BY cluster_index')
      .all(runId, round) as ModelRow[];
    if (rows.length === 0) return undefined;
    return rows.map((r) => {
      // The path is derived, not read from r.file: that column holds where the data folder was when
      // the round was saved, and a folder that has been moved (or restored elsewhere) must still load.
      const bytes = readFileSync(this.modelPath(runId, round, r.cluster_index));
      const weights = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(weights.buffer).set(bytes);
      return { clusterIndex: r.cluster_index, widthRatio: r.width_ratio, memberIds: JSON.parse(r.member_ids) as string[], weights };
    });
  }

  readModelBytes(runId: string, round: number, clusterIndex: number): Uint8Array | undefined {
    const path = this.modelPath(runId, round, clusterIndex);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
  }

  /** Tasks registered from folders (tasks/task-catalog.ts loads them again at every start). */
  listTasks(): { name: string; source: string }[] {
    return this.db.prepare('SELECT name, source FROM tasks ORDER BY created_at').all() as { name: string; source: string }[];
  }

  saveTask(name: string, source: string, definition: TaskDefinition): void {
    this.db.prepare('INSERT INTO tasks VALUES (?, ?, ?, ?)').run(name, source, JSON.stringify(definition), Date.now());
  }

  close(): void {
    this.db.close();
  }
}
