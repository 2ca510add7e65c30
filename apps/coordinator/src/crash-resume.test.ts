import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '@fedtsa/core/backend';
import { ADMIN, FAST_SETTINGS, until } from './test-helpers.ts';
import { VirtualClient } from './virtual-client/virtual-client.ts';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function startServer(port: number, dataDir: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', SERVER, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'], {
    env: { ...process.env, FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent' }, stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function roundFiles(dataDir: string, runId: string, upTo: number): Map<string, string> {
  const files = new Map<string, string>();
  const runDir = join(dataDir, 'runs', runId);
  for (const dir of readdirSync(runDir)) {
    const round = Number(dir.replace('round-', ''));
    if (round < 1 || round > upTo) continue;
    for (const f of readdirSync(join(runDir, dir))) if (f.endsWith('.f32')) files.set(`${dir}/${f}`, readFileSync(join(runDir, dir, f)).toString('base64'));
  }
  return files;
}

describe('crash and resume', () => {
  const clients: VirtualClient[] = [];
  let server: ChildProcess | undefined;
  afterAll(() => {
    for (const c of clients) c.close();
    server?.kill('SIGKILL');
  });

  it('continues a run from its last completed round after a SIGKILL mid-round, checkpoints byte-identical', async () => {
    await useBackend('wasm');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-crash-'));
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return res.json() as Promise<Record<string, unknown>>;
    };
    const healthy = async () => fetch(`${url}/api/health`).then((r) => r.ok, () => false);

    server = startServer(port, dataDir);
    await until(healthy, 60_000, 'the coordinator to come up');
    const run = await api('POST', '/api/runs', { name: 'crash', settings: { ...FAST_SETTINGS, rounds: 4, minClientsToStart: 3, stage2: { enabled: false } }, start: true }) as { id: string; joinToken: string };
    for (const speed of [300, 320, 340]) clients.push(new VirtualClient({ url, runId: run.id, joinToken: run.joinToken, samplesPerSec: speed, emulateSpeed: true }));

    // Kill while a round is open, after at least one round completed.
    let snapshot = { completedRound: 0, currentRound: 0 };
    await until(async () => {
      snapshot = await api('GET', `/api/runs/${run.id}`) as typeof snapshot;
      return snapshot.completedRound >= 1 && snapshot.currentRound === snapshot.completedRound + 1;
    }, 120_000, 'a round in progress after a completed one');
    const before = roundFiles(dataDir, run.id, snapshot.completedRound);
    server.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    expect(before.size).toBeGreaterThan(0);

    server = startServer(port, dataDir);
    await until(healthy, 60_000, 'the coordinator to restart');
    const resumed = await api('GET', `/api/runs/${run.id}`) as { completedRound: number; state: string };
    expect(resumed.completedRound).toBeGreaterThanOrEqual(snapshot.completedRound);
    // The virtual clients reconnect on their own, with their identities.
    await until(async () => (await api('GET', `/api/runs/${run.id}`)).state === 'completed', 180_000, 'the run to complete after the restart');

    const rounds = await api('GET', `/api/runs/${run.id}/rounds`) as unknown as { round: number }[];
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    expect(roundFiles(dataDir, run.id, snapshot.completedRound)).toEqual(before);
    // Every identity the run has seen (`?all=true`; the default lists only the live ones): exactly the three, none minted by a reconnect.
    const ids = new Set(((await api('GET', `/api/runs/${run.id}/clients?all=true`)) as unknown as { id: string }[]).map((c) => c.id));
    expect(ids).toEqual(new Set(clients.map((c) => c.welcome!.clientId)));
  });
});
