/** Reading a coordinator's data folder from outside, with the coordinator dead (the SIGKILL drill). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RoundRecord } from '../apps/coordinator/src/store/types.ts';

export const roundDir = (dataDir: string, runId: string, round: number) => join(dataDir, 'runs', runId, `round-${String(round).padStart(5, '0')}`);

/** True when `dir` holds a file written since `since` (not just a leftover of an earlier, killed attempt). */
export function writtenSince(dir: string, since: number): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((f) => {
    try {
      return statSync(join(dir, f)).mtimeMs >= since;
    } catch {
      return true; // renamed meanwhile: being written
    }
  });
}

/** What the database says, read with the coordinator dead (read-only: no checkpoint of its WAL). */
export interface DbState {
  completedRound: number;
  state: string;
  rounds: RoundRecord[];
  models: { round: number; cluster_index: number; width_ratio: number; file: string }[];
}

export function readDb(dataDir: string, runId: string): DbState {
  const db = new Database(join(dataDir, 'fedtsa.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const run = db.prepare('SELECT completed_round, state FROM runs WHERE id = ?').get(runId) as { completed_round: number; state: string };
    const rounds = (db.prepare('SELECT record FROM rounds WHERE run_id = ? AND round > 0 ORDER BY round').all(runId) as { record: string }[])
      .map((r) => JSON.parse(r.record) as RoundRecord);
    const models = db.prepare('SELECT round, cluster_index, width_ratio, file FROM models WHERE run_id = ? ORDER BY round, cluster_index').all(runId) as DbState['models'];
    return { completedRound: run.completed_round, state: run.state, rounds, models };
  } finally {
    db.close();
  }
}
