import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import { resolveSettings } from '../runs/settings.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { ClientRecord, RoundRecord } from './types.ts';

const run = { id: 'run-1', name: 'r', settings: resolveSettings({}), state: 'created' as const, joinToken: 't', completedRound: 0, createdAt: 1, updatedAt: 1 };
const client = (id: string, status: ClientRecord['status'], lastSeen: number): ClientRecord => ({
  runId: run.id, id, secretHash: 'h', samplesPerSec: 1, backend: 'node', label: '', clusterIndex: null, widthRatio: null, demoShard: null, status, lastSeen, joinedAt: lastSeen,
});

describe('SqliteStore', () => {
  it("keeps a round's incidents across a reopen", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-store-'));
    const incidents: RoundIncident[] = [{ kind: 'update-refused', clusterIndex: 1, clientId: 'c-1', code: 'FEDTSA_ERR_NORM_TOO_LARGE', message: 'too far', numbers: { distance: 3 } }];
    const round: RoundRecord = {
      runId: run.id, round: 1, startedAt: 1, closedAt: 2, stage1Ms: 1, stage2Ms: 1, stage2Stats: {}, participants: 2, updatesAccepted: 1, updatesRefused: 1,
      clusters: [], meanAccuracy: 0.5, clustering: { boundaries: [], grid: { x: [], density: [] }, clusters: [] }, incidents,
    };
    let store = new SqliteStore(dir);
    store.createRun(run);
    store.completeRound(round, []);
    store.close();
    store = new SqliteStore(dir);
    expect(store.listRounds(run.id)[0]!.incidents).toEqual(incidents);
    store.close();
  });

  it('lists connected and training clients whatever their age, and departed ones within the grace', () => {
    const store = new SqliteStore(mkdtempSync(join(tmpdir(), 'fedtsa-store-')), { clientGraceMs: 1000 });
    store.createRun(run);
    for (const c of [client('old-connected', 'connected', 0), client('old-training', 'training', 0), client('left-recently', 'left', 9500),
      client('gone-recently', 'disconnected', 9000), client('left-long-ago', 'left', 8999), client('gone-long-ago', 'disconnected', 100)]) store.upsertClient(c);
    expect(store.listLiveClients(run.id, 10_000).map((c) => c.id).sort()).toEqual(['gone-recently', 'left-recently', 'old-connected', 'old-training']);
    expect(store.listClients(run.id)).toHaveLength(6);
    store.close();
  });

  it('claims a device token once, and never a revoked one', () => {
    const store = new SqliteStore(mkdtempSync(join(tmpdir(), 'fedtsa-store-')));
    store.createRun(run);
    const token = { runId: run.id, label: '', createdAt: 1, usedBy: null, usedAt: null, revokedAt: null };
    store.createDeviceTokens([{ ...token, tokenHash: 'a' }, { ...token, tokenHash: 'b' }]);
    expect(store.claimDeviceToken(run.id, 'a', 'c-1', 5)).toBe(true);
    expect(store.claimDeviceToken(run.id, 'a', 'c-2', 6)).toBe(false);
    expect(store.getDeviceToken(run.id, 'a')).toMatchObject({ usedBy: 'c-1', usedAt: 5 });
    expect(store.revokeDeviceToken(run.id, 'b', 7)).toBe(true);
    expect(store.claimDeviceToken(run.id, 'b', 'c-3', 8)).toBe(false);
    expect(store.revokeDeviceToken(run.id, 'nope', 9)).toBe(false);
    expect(store.listDeviceTokens(run.id).map((t) => [t.tokenHash, t.usedBy, t.revokedAt])).toEqual([['a', 'c-1', null], ['b', null, 7]]);
    store.close();
  });
});
