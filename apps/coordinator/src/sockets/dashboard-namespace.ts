/**
 * The dashboard's live feed: admin token in the handshake; pushes a run's summary whenever
 * its clients, rounds or state change (coalesced to at most one push per run per 250 ms).
 */
import type { Namespace } from 'socket.io';
import { protocolError } from '@fedtsa/protocol/errors';
import type { AdminAuth } from '../admin-token.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { describeRun } from '../routes/runs.ts';
import type { RunStore } from '../store/types.ts';

export interface DashboardServerEvents {
  run: (summary: ReturnType<typeof describeRun> & { rounds: ReturnType<RunStore['listRounds']> }) => void;
}

export function attachDashboardNamespace(ns: Namespace, admin: AdminAuth, registry: RunRegistry, store: RunStore) {
  ns.use((socket, next) => {
    const token = (socket.handshake.auth as { adminToken?: unknown }).adminToken;
    if (typeof token === 'string' && admin.check(token)) return next();
    const err = new Error(protocolError('FEDTSA_ERR_UNAUTHORIZED').message) as Error & { data: { code: string } };
    err.data = { code: 'FEDTSA_ERR_UNAUTHORIZED' };
    next(err);
  });
  const summary = (runId: string) => {
    const engine = registry.get(runId);
    return engine && { ...describeRun(engine, store), rounds: store.listRounds(runId) };
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
