/**
 * The dashboard's live feed: admin token in the handshake; pushes a run's summary whenever the
 * run-events hub says its clients, rounds or state changed (coalesced to at most one push per
 * run per 250 ms).
 */
import type { Namespace } from 'socket.io';
import type { DashboardServerEvents } from '@fedtsa/protocol/dashboard';
import { protocolError } from '@fedtsa/protocol/errors';
import type { AdminAuth } from '../admin-token.ts';
import type { RunEvents } from '../runs/run-events.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { describeDashboardRun } from '../runs/run-view.ts';
import type { RunStore } from '../store/types.ts';

export function attachDashboardNamespace(
  ns: Namespace<Record<string, never>, DashboardServerEvents>, admin: AdminAuth, registry: RunRegistry, store: RunStore, events: RunEvents,
) {
  ns.use((socket, next) => {
    const token = (socket.handshake.auth as { adminToken?: unknown }).adminToken;
    if (typeof token === 'string' && admin.check(token)) return next();
    const err = new Error(protocolError('FEDTSA_ERR_UNAUTHORIZED').message) as Error & { data: { code: string } };
    err.data = { code: 'FEDTSA_ERR_UNAUTHORIZED' };
    next(err);
  });
  ns.on('connection', (socket) => {
    for (const engine of registry.list()) socket.emit('run', describeDashboardRun(engine, store));
  });
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const unsubscribe = events.subscribe(({ runId }) => {
    if (pending.has(runId)) return;
    pending.set(runId, setTimeout(() => {
      pending.delete(runId);
      const engine = registry.get(runId);
      if (engine) ns.emit('run', describeDashboardRun(engine, store));
    }, 250));
  });
  return {
    /** Stops listening and drops the pushes still waiting: nothing is pushed from here on. */
    close(): void {
      unsubscribe();
      for (const t of pending.values()) clearTimeout(t);
    },
  };
}
