/** A real coordinator in its own process for the end-to-end suites, on a free port with its own data folder. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
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

/** A coordinator child process (`node --import tsx apps/coordinator/src/server.ts`), up and answering /api/health. */
export interface SpawnedCoordinator {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Its stdout and stderr lines, when spawned with `captureLog`. */
  log: string[];
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Flags for the coordinator after --port, --data-dir and --log-level warn (see apps/coordinator/src/config.ts). */
  args?: string[];
  /** Environment over this process's. */
  env?: Record<string, string>;
  /** Flags for node before --import tsx. */
  nodeArgs?: string[];
  /** Default: a new temporary folder. */
  dataDir?: string;
  /** Keep stdout and stderr in `log` instead of ignoring stdout and passing stderr through. */
  captureLog?: boolean;
  /** Working directory; default this process's. */
  cwd?: string;
  /**
   * The coordinator serves HTTPS (pass --tls-cert/--tls-key or --tls self-signed in `args`): the
   * url is https://, and the start-up probe accepts its certificate unchecked (tests check it themselves).
   */
  https?: boolean;
  /** Default: a free port found now. A test that must put the port in --public-url picks it first with freePort(). */
  port?: number;
}

/** Starts a coordinator on a free port and waits until it answers, failing early if it exits first. */
export async function spawnCoordinator(options: SpawnOptions = {}): Promise<SpawnedCoordinator> {
  const port = options.port ?? await freePort();
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fedtsa-coordinator-'));
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'apps/coordinator/src/server.ts', '--port', String(port),
    '--data-dir', dataDir, '--log-level', 'warn', ...(options.args ?? [])], {
    cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: options.captureLog ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'ignore', 'inherit'],
  });
  const log: string[] = [];
  const keep = (chunk: Buffer) => log.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(await (options.https ? httpsHealthy(url) : fetch(`${url}/api/health`).then((r) => r.ok, () => false)))) {
    if (child.exitCode !== null) throw new Error(`the coordinator exited during start-up${log.length ? `:\n${log.join('\n')}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the coordinator did not answer /api/health within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url, dataDir, child, log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** GET /api/health over TLS without checking the certificate (fetch cannot be told to). */
function httpsHealthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(`${url}/api/health`, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
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
  const spawned = await spawnCoordinator({
    nodeArgs: options.nodeArgs,
    args: [...(options.demoAlpha === undefined ? [] : ['--demo-alpha', String(options.demoAlpha)]), ...(options.args ?? [])],
    env: { FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent', ...options.env },
  });
  const { url } = spawned;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json() as Promise<T>;
  };
  return {
    url,
    pid: spawned.child.pid as number,
    api,
    createRun: (settings) => api('POST', '/api/runs', { name: 'e2e', settings: { stage2: { enabled: false }, ...settings }, start: true }),
    stop: () => spawned.stop(),
  };
}
