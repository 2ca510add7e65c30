/**
 * Closing a coordinator that still has company: training clients and a dashboard connected. The
 * clients' sockets drop during close(), which marks them disconnected and asks for a dashboard
 * push; that push must not read the store after close() has closed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { DashboardRun } from '@fedtsa/protocol/dashboard';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { ADMIN, FAST_SETTINGS, startCoordinator } from './test-helpers.ts';

/** The dashboard coalesces pushes over 250 ms (sockets/dashboard-namespace.ts); a push scheduled by close() would have run by then. */
const PUSH_WINDOW_MS = 250;

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

function connect(url: string, namespace: string, auth: Record<string, unknown>, ready: string): Promise<Socket> {
  const s = io(`${url}${namespace}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once(ready, () => resolve(s));
    s.once('connect_error', reject);
  });
}

describe('Coordinator.close', () => {
  it('with clients and a dashboard connected: no push after the store is closed, no unhandled error', async () => {
    const { coordinator, url } = await startCoordinator();
    const run = coordinator.registry.create('closing', { ...FAST_SETTINGS, minClientsToStart: 50 });
    const auth = { protocolVersion: PROTOCOL_VERSION, runId: run.record.id, joinToken: run.record.joinToken };
    for (let i = 0; i < 3; i++) {
      const s = await connect(url, CLIENT_NAMESPACE, auth, 'welcome');
      const ack = await s.timeout(5000).emitWithAck('capability', { samplesPerSec: 100 + i, backend: 'node', label: `c${i}` }) as { ok: boolean };
      expect(ack.ok).toBe(true);
    }
    const dashboard = await connect(url, DASHBOARD_NAMESPACE, { adminToken: ADMIN }, 'connect');
    // The dashboard has seen all three clients: it is live and the coordinator has pushes to make.
    await new Promise<void>((resolve) => {
      const seen = (r: DashboardRun) => { if (r.id === run.record.id && r.clients.length === 3) resolve(); };
      dashboard.on('run', seen);
    });

    const failures: unknown[] = [];
    const record = (err: unknown) => failures.push(err);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    try {
      await coordinator.close();
      // Nothing to wait on: the failure was a timer firing after close. Give it its window, twice over.
      await new Promise((r) => setTimeout(r, 2 * PUSH_WINDOW_MS));
    } finally {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    }
    expect(failures.map(String)).toEqual([]);
  }, 60_000);
});
