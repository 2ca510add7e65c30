/**
 * A real coordinator in a child process for the conformance suite, started exactly as an
 * operator would (`node --import tsx apps/coordinator/src/server.ts ...`), plus its REST API.
 * Test support only: the independent client never imports this.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnCoordinator } from '../../../../e2e/coordinator-process.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CoordinatorProcess {
  url: string;
  adminToken: string;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startCoordinatorProcess(): Promise<CoordinatorProcess> {
  const adminToken = `conformance-${process.pid}`;
  const spawned = await spawnCoordinator({ cwd: REPO, args: ['--admin-token', adminToken, '--generator', '/nonexistent'] });
  const { url } = spawned;
  return {
    url,
    adminToken,
    async api<T>(method: string, path: string, body?: unknown, token = adminToken) {
      const res = await fetch(`${url}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    async stop() {
      await spawned.stop();
      rmSync(spawned.dataDir, { recursive: true, force: true });
    },
  };
}
