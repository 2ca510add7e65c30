/**
 * The dashboard's live feed: admin token in the handshake; pushes a run's summary whenever
 * its clients, rounds or state change (coalesced to at most one push per run per 250 ms).
 */
import type { Namespace } from 'socket.io';
import type { DashboardRun, DashboardServerEvents } from '@fedtsa/protocol/dashboard';
import { protocolError } from '@fedtsa/protocol/errors';
import type { AdminAuth } from '../admin-token.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { describeRun } from '../routes/runs.ts';
import type { RunStore } from '../store/types.ts';

export function attachDashboardNamespace(ns: Namespace<Record<string, never>, DashboardServerEvents>, admin: AdminAuth, registry: RunRegistry, store: RunStore) {
  ns.use((socket, next) => {
    const token = (socket.handshake.auth as { adminToken?: unknown }).adminToken;
    if (typeof token === 'string' && admin.check(token)) return next();
    const err = new Error(protocolError('FEDTSA_ERR_UNAUTHORIZED').message) as Error & { data: { code: string } };
    err.data = { code: 'FEDTSA_ERR_UNAUTHORIZED' };
    next(err);
  });
  const summary = (runId: string): DashboardRun | undefined => {
    const engine = registry.get(runId);
    // Rounds go out without their clustering snapshots: the run carries the current one.
    return engine && { ...describeRun(engine, store), rounds: store.listRounds(runId).map(({ clustering: _c, runId: _r, ...r }) => r) };
  };
  ns.on('connection', (socket) => {
    for (const engine of registry.list()) {
      const s = summary(engine.record.id);
      if (s) socket.emit('run', s);
    }
  });
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  return {
    changed(runId: string): void {
      if (pending.has(runId)) return;
      pending.set(runId, setTimeout(() => {
        pending.delete(runId);
        const s = summary(runId);
        if (s) ns.emit('run', s);
      }, 250));
    },
    close(): void {
      for (const t of pending.values()) clearTimeout(t);
    },
  };
}
