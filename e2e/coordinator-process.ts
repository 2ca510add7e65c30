/** A real coordinator in its own process for the end-to-end suites, on a free port with its own data folder. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN = 'e2e-admin-token';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface CoordinatorProcess {
  url: string;
  pid: number;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  createRun(settings: Record<string, unknown>): Promise<{ id: string; joinToken: string }>;
  stop(): Promise<void>;
}

export interface CoordinatorOptions {
  /** Label skew of the demo shards (the coordinator's default is 0.5, strongly non-IID). */
  demoAlpha?: number;
  /** Extra flags for node (the fan-out benchmark passes --expose-gc). */
  nodeArgs?: string[];
  /** Extra flags for the coordinator, after the ones set here (see apps/coordinator/src/config.ts), e.g. ['--identities-per-minute', '2000']. */
  args?: string[];
  /** Extra environment for the coordinator, over this process's and the FEDTSA_ variables set here. */
  env?: Record<string, string>;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<CoordinatorProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'apps/coordinator/src/server.ts', '--port', String(port),
    '--data-dir', mkdtempSync(join(tmpdir(), 'fedtsa-e2e-')), '--log-level', 'warn',
    ...(options.demoAlpha === undefined ? [] : ['--demo-alpha', String(options.demoAlpha)]), ...(options.args ?? [])], {
    env: { ...process.env, FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent', ...options.env }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/api/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error('the coordinator did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json() as Promise<T>;
  };
  return {
    url,
    pid: child.pid as number,
    api,
    createRun: (settings) => api('POST', '/api/runs', { name: 'e2e', settings: { stage2: { enabled: false }, ...settings }, start: true }),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
