/**
 * A real coordinator in a child process for the conformance suite, started exactly as an
 * operator would (`node --import tsx apps/coordinator/src/server.ts ...`), plus its REST API.
 * Test support only: the independent client never imports this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../../e2e/coordinator-process.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CoordinatorProcess {
  url: string;
  adminToken: string;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startCoordinatorProcess(): Promise<CoordinatorProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `conformance-${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-conformance-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'apps/coordinator/src/server.ts', '--port', String(port),
    '--data-dir', dataDir, '--admin-token', adminToken, '--generator', '/nonexistent', '--log-level', 'warn'], {
    cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/api/health`).then((r) => r.ok, () => false))) {
    if (exited) throw new Error('the coordinator process exited during start-up');
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the coordinator did not answer /api/health within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
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
      if (!exited) child.kill('SIGTERM');
      await exit;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
