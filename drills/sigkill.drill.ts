/**
 * Fault drill: 20 SIGKILLs of the coordinator at random moments of one run.
 *
 * One coordinator child process on a fixed data dir and port; a 120-round run with short rounds
 * and four VirtualClients (two speed tiers, so two clusters of different widths) in two more child
 * processes (virtual-client/cli.ts): training blocks the event loop it runs on, and in this
 * process it would delay the kill timers to the ends of training steps. The clients survive the
 * kills and reconnect with their identities.
 * After each restart (seeded random delay of 0.5-6 s) the coordinator is killed again with
 * SIGKILL, at whatever it is doing: waiting for clients to reconnect, a round open, aggregating,
 * saving. Saving (file writes, fsyncs, commit) lasts a few milliseconds and is almost never hit
 * at random, so every 4th kill, after its delay, waits for the next save to begin (its round
 * directory appears) and lands a seeded 0-5 ms into it.
 * After every kill, with the coordinator dead, the drill reads the SQLite database (read-only)
 * and the round files itself and asserts:
 *   - completedRound never decreases (no completed round is lost);
 *   - every completed round is listed, and each of its cluster files exists with exactly
 *     parameterCount(width) x 4 bytes, holds only finite floats, and is byte-identical to what
 *     it was at every earlier kill;
 *   - no file of a round beyond completedRound + 1 exists.
 * After the last kill the run must reach 'completed' with all its rounds listed.
 *
 *   npx vitest run --config vitest.drills.config.ts drills/sigkill.drill.ts
 *   DRILL_SEED=7 DRILL_KILLS=20 DRILL_ROUNDS=120 (optional overrides)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { createRng } from '@fedtsa/core/rng';
import { SPEC } from '../apps/coordinator/src/app.ts';
import type { RoundRecord } from '../apps/coordinator/src/store/types.ts';
import { ADMIN, FAST_SETTINGS } from '../apps/coordinator/src/test-helpers.ts';
import { freePort } from '../e2e/coordinator-process.ts';
import { readDb, roundDir, writtenSince } from './store-inspection.ts';

const SERVER = fileURLToPath(new URL('../apps/coordinator/src/server.ts', import.meta.url));
const CLIENT_CLI = fileURLToPath(new URL('../apps/coordinator/src/virtual-client/cli.ts', import.meta.url));
const SEED = Number(process.env.DRILL_SEED ?? 20_240_601);
const KILLS = Number(process.env.DRILL_KILLS ?? 20);
// Long enough for the kills to land mid-run: 50 rounds ran out after 13 kills once rounds got faster (a kill cycle is a 0.5-6 s delay plus a 2.5-4.5 s boot).
const ROUNDS = Number(process.env.DRILL_ROUNDS ?? 120);
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 6000;
/** Every 4th kill is aimed at the save of a round (see below). */
const SAVE_KILL_EVERY = 4;
const ROUND_DEADLINE_MS = FAST_SETTINGS.roundDeadlineMs;
/** Two slow and two fast clients (cli.ts spreads each tier's speed by +-5%): two clusters, two model widths. */
const TIERS = [{ label: 'slow', speed: 42, count: 2 }, { label: 'fast', speed: 310, count: 2 }];
const CLIENTS = TIERS.reduce((n, t) => n + t.count, 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
describe('SIGKILL drill', () => {
  const clientProcesses: ChildProcess[] = [];
  let server: ChildProcess | undefined;
  afterAll(() => {
    for (const c of clientProcesses) c.kill('SIGTERM');
    server?.kill('SIGKILL');
  });

  it(`survives ${KILLS} SIGKILLs at random moments of a ${ROUNDS}-round run without losing or altering a completed round`, async () => {
    const t0 = Date.now();
    const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
    const rng = createRng(SEED);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-sigkill-'));
    console.log(`[sigkill] seed ${SEED}, ${KILLS} kills, ${ROUNDS} rounds, data dir ${dataDir} (server logs: server-<n>.log)`);

    let instance = 0;
    let instanceStartedAt = 0;
    const start = (): ChildProcess => {
      instance++;
      instanceStartedAt = Date.now();
      const log = openSync(join(dataDir, `server-${instance}.log`), 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', SERVER, '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'], {
        env: { ...process.env, FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent' }, stdio: ['ignore', log, log],
      });
      closeSync(log);
      return child;
    };
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}${path}`, {
        method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<T>;
    };
    // Polled every 250 ms: the coordinator allows 300 HTTP requests a minute per address.
    const waitHealthy = async (what: string) => {
      const deadline = Date.now() + 90_000;
      while (!(await fetch(`${url}/api/health`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
      }
    };

    server = start();
    const bootStart = Date.now();
    await waitHealthy('the coordinator to come up');
    const bootTimes = [Date.now() - bootStart];
    const run = await api<{ id: string; joinToken: string }>('POST', '/api/runs', {
      name: 'sigkill-drill', start: true,
      // FAST_SETTINGS' learning rate 0.1 is tuned for 60-image shards; the child coordinator deals 300-image ones.
      settings: { ...FAST_SETTINGS, rounds: ROUNDS, minClientsToStart: CLIENTS, learningRate: 0.05, seed: 3, stage2: { enabled: false } },
    });
    // Updates accepted per coordinator instance and round (from the clients' output), to tell an open round from one being aggregated.
    const accepted = new Map<string, number>();
    const lastAccepted = new Map<string, number>();
    const refusals = new Map<string, number>();
    const clientExits: string[] = [];
    for (const tier of TIERS) {
      const log = openSync(join(dataDir, `clients-${tier.label}.log`), 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', CLIENT_CLI, '--url', url, '--run', run.id, `--token=${run.joinToken}`,
        '--count', String(tier.count), '--speed', String(tier.speed), '--label', tier.label], { stdio: ['ignore', 'pipe', log] });
      closeSync(log);
      clientProcesses.push(child);
      child.once('exit', (code, signal) => clientExits.push(`${tier.label} clients exited (${signal ?? code}) at ${since()}, see clients-${tier.label}.log`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const ok = /round (\d+) update accepted/.exec(line);
        if (ok) {
          const key = `${instance}:${ok[1]}`;
          accepted.set(key, (accepted.get(key) ?? 0) + 1);
          lastAccepted.set(key, Date.now());
        }
        const refused = /update refused: (\S+)/.exec(line);
        if (refused) refusals.set(refused[1]!, (refusals.get(refused[1]!) ?? 0) + 1);
      });
      // One tier after the other: demo shards are dealt in join order, so every run of the drill trains the same data per cluster.
      const joined = clientProcesses.reduce((n, _c, i) => n + TIERS[i]!.count, 0);
      const joinBy = Date.now() + 120_000;
      while ((await api<unknown[]>('GET', `/api/runs/${run.id}/clients`)).length < joined) {
        expect(clientExits).toEqual([]);
        if (Date.now() > joinBy) throw new Error(`timed out waiting for the ${tier.label} clients to join`);
        await sleep(500);
      }
    }

    const runDir = join(dataDir, 'runs', run.id);
    // Every completed round's files as first seen: path -> sha256.
    const fingerprints = new Map<string, string>();
    let lastCompleted = 0;
    /** Checks the on-disk state with the coordinator dead; returns the completed round and a note on round n+1's leftovers. */
    const verifyDisk = (when: string): { completedRound: number; leftover: string } => {
      const db = readDb(dataDir, run.id);
      expect(db.completedRound, `${when}: completedRound went from ${lastCompleted} to ${db.completedRound}`).toBeGreaterThanOrEqual(lastCompleted);
      expect(db.rounds.map((r) => r.round), `${when}: rounds listed`).toEqual(Array.from({ length: db.completedRound }, (_, i) => i + 1));
      for (const record of db.rounds) {
        const rows = db.models.filter((m) => m.round === record.round);
        expect(rows.map((m) => m.cluster_index), `${when}: round ${record.round} models`).toEqual(record.clusters.map((c) => c.clusterIndex));
        for (const cluster of record.clusters) {
          const row = rows.find((m) => m.cluster_index === cluster.clusterIndex)!;
          expect(row.width_ratio).toBe(cluster.widthRatio);
          const file = join(roundDir(dataDir, run.id, record.round), `cluster-${cluster.clusterIndex}.f32`);
          expect(row.file).toBe(file);
          expect(existsSync(file), `${when}: ${file} exists`).toBe(true);
          const bytes = readFileSync(file);
          expect(bytes.byteLength, `${when}: ${file} length (width ${cluster.widthRatio})`).toBe(parameterCount(modelManifest(SPEC, cluster.widthRatio)) * 4);
          const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          const bad = floats.findIndex((v) => !Number.isFinite(v));
          expect(bad, `${when}: ${file} value ${bad} is ${floats[bad]}`).toBe(-1);
          const hash = createHash('sha256').update(bytes).digest('hex');
          const before = fingerprints.get(file);
          if (before === undefined) fingerprints.set(file, hash);
          else expect(hash, `${when}: ${file} changed after it was completed`).toBe(before);
        }
      }
      // Nothing of a round past the one that may have been in progress.
      const beyond = existsSync(runDir) ? readdirSync(runDir).filter((d) => Number(d.replace('round-', '')) > db.completedRound + 1) : [];
      expect(beyond, `${when}: round directories beyond completedRound + 1`).toEqual([]);
      const next = roundDir(dataDir, run.id, db.completedRound + 1);
      const leftover = existsSync(next) ? readdirSync(next).join(',') : '';
      lastCompleted = db.completedRound;
      return { completedRound: db.completedRound, leftover };
    };

    // The clients need a few seconds to load; the kills start once the federation has completed a round.
    const firstRoundBy = Date.now() + 120_000;
    while ((await api<{ completedRound: number }>('GET', `/api/runs/${run.id}`)).completedRound < 1) {
      expect(clientExits).toEqual([]);
      if (Date.now() > firstRoundBy) throw new Error('timed out waiting for the first round');
      await sleep(500);
    }
    console.log(`[sigkill] round 1 completed at ${since()}; the kills start`);

    interface Kill { n: number; at: string; delayMs: number; phase: string; completedBefore: number; completedAfter: number; currentRound: number; leftover: string }
    const kills: Kill[] = [];
    /** Kills the coordinator `extraMs` after it starts saving a round past `completed` (its round directory appears or an uncommitted one is written to). */
    const killWhenSaving = (completed: number, extraMs: number, timeoutMs: number) => new Promise<string>((resolve) => {
      const watchers: FSWatcher[] = [];
      let fired = false;
      const fire = (why: string) => {
        if (fired) return;
        fired = true;
        clearTimeout(timer);
        for (const w of watchers) w.close();
        const kill = () => { server!.kill('SIGKILL'); resolve(why); };
        if (extraMs > 0) setTimeout(kill, extraMs);
        else kill();
      };
      const timer = setTimeout(() => fire(`no save within ${timeoutMs} ms`), timeoutMs);
      watchers.push(watch(runDir, (_event, name) => {
        if (name?.startsWith('round-') && Number(name.slice(6)) > completed) fire(`${name} created`);
      }));
      const pending = roundDir(dataDir, run.id, completed + 1);
      if (existsSync(pending)) watchers.push(watch(pending, (_event, name) => fire(`${name ?? 'a file'} written in the existing ${basename(pending)}`)));
    });

    for (let n = 1; n <= KILLS; n++) {
      const delayMs = Math.round(MIN_DELAY_MS + rng.next() * (MAX_DELAY_MS - MIN_DELAY_MS));
      // Every SAVE_KILL_EVERY-th kill waits for the next save after its delay and lands 0-5 ms into it:
      // the few milliseconds of file writes, fsyncs and the commit are almost never hit at random.
      const saveKill = n % SAVE_KILL_EVERY === 0 && existsSync(runDir);
      const extraMs = Math.floor(rng.next() * 6);
      await sleep(delayMs);
      // Where the coordinator is, as seen from outside just before the kill.
      const snap = await api<{ completedRound: number; currentRound: number; state: string; roundDeadline: number | null }>('GET', `/api/runs/${run.id}`);
      const updates = accepted.get(`${instance}:${snap.currentRound}`) ?? 0;
      const openMs = snap.roundDeadline ? Date.now() - (snap.roundDeadline - ROUND_DEADLINE_MS) : 0;
      let phase: string;
      let at: string;
      if (saveKill) {
        const why = await killWhenSaving(snap.completedRound, extraMs, 60_000);
        at = since();
        phase = `save-triggered, ${extraMs} ms after ${why}`;
      } else {
        if (snap.state === 'completed') phase = 'run completed';
        // With minClientsToStart = all four, no open round means clients still reconnecting (the next round opens as the last one closes).
        else if (snap.currentRound === snap.completedRound) phase = 'no round open (clients reconnecting)';
        else if (updates < CLIENTS) phase = `round open (${updates}/${CLIENTS} updates, open ${openMs} ms)`;
        else {
          const lastUpdate = Date.now() - (lastAccepted.get(`${instance}:${snap.currentRound}`) ?? 0);
          phase = `${writtenSince(roundDir(dataDir, run.id, snap.currentRound), instanceStartedAt) ? 'saving' : 'aggregating'} (all updates in, last ${lastUpdate} ms ago)`;
        }
        at = since();
        server.kill('SIGKILL');
      }
      await new Promise((r) => server!.once('exit', r));

      const disk = verifyDisk(`kill ${n}`);
      const outcome = disk.completedRound > snap.completedRound
        ? `round ${disk.completedRound} committed before the kill`
        : disk.leftover
          ? `round ${disk.completedRound + 1} not committed, its directory holds: ${disk.leftover}`
            + (writtenSince(roundDir(dataDir, run.id, disk.completedRound + 1), instanceStartedAt) ? ' (written by the killed coordinator)' : ' (left by an earlier kill)')
          : 'nothing of the next round on disk';
      const kill: Kill = { n, at, delayMs, phase, completedBefore: snap.completedRound, completedAfter: disk.completedRound, currentRound: snap.currentRound, leftover: disk.leftover };
      kills.push(kill);
      console.log(`[sigkill] kill ${String(n).padStart(2)} at ${at.padStart(7)} (${delayMs} ms after restart): completed round ${disk.completedRound}, round ${snap.currentRound} in progress; ${phase}; ${outcome}`);

      server = start();
      const restartAt = Date.now();
      await waitHealthy(`restart ${n}`);
      bootTimes.push(Date.now() - restartAt);
      // The clients must outlive every kill (they crashed on a disconnect during their join handshake before virtual-client.ts caught it).
      expect(clientExits, `after kill ${n}`).toEqual([]);
      const resumed = await api<{ completedRound: number; state: string }>('GET', `/api/runs/${run.id}`);
      expect(resumed.completedRound, `after restart ${n}`).toBeGreaterThanOrEqual(disk.completedRound);
      if (resumed.state === 'completed') {
        console.log(`[sigkill] the run completed after ${n} kills; stopping the kills early`);
        break;
      }
    }

    // No more kills: the clients reconnect and the run finishes.
    const finishFrom = Date.now();
    const finishDeadline = Date.now() + 600_000;
    while ((await api<{ state: string }>('GET', `/api/runs/${run.id}`)).state !== 'completed') {
      expect(clientExits).toEqual([]);
      if (Date.now() > finishDeadline) throw new Error('timed out waiting for the run to complete');
      await sleep(500);
    }
    const rounds = await api<RoundRecord[]>('GET', `/api/runs/${run.id}/rounds`);
    expect(rounds.map((r) => r.round)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
    const finishMs = Date.now() - finishFrom;
    // Every reconnect resumed its identity: still exactly the four clients, one identity per label,
    // among every identity the run has seen (`?all=true`), not only the live ones.
    const labels = (await api<{ label: string }[]>('GET', `/api/runs/${run.id}/clients?all=true`)).map((c) => c.label).sort();
    expect(labels).toEqual(TIERS.flatMap((t) => Array.from({ length: t.count }, (_, i) => `${t.label}-${i}`)).sort());
    server.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    const final = verifyDisk('after the run');
    expect(final.completedRound).toBe(ROUNDS);
    expect(readDb(dataDir, run.id).state).toBe('completed');

    const errors = readdirSync(dataDir).filter((f) => f.startsWith('server-')).flatMap((f) => readFileSync(join(dataDir, f), 'utf8').split('\n'))
      .filter((l) => /"level":(50|60)/.test(l));
    const phases = new Map<string, number>();
    for (const k of kills) {
      const key = k.phase.replace(/ \(.*?\)/g, '').replace(/, \d+ ms after .*/, '');
      phases.set(key, (phases.get(key) ?? 0) + 1);
    }
    const lastRound = rounds[rounds.length - 1]!;
    console.log(`[sigkill] ${kills.length} kills; phases: ${[...phases].map(([p, c]) => `${p} x${c}`).join(', ')}`);
    console.log(`[sigkill] completed round at each kill: ${kills.map((k) => k.completedAfter).join(' ')}`);
    const saves = kills.filter((k) => k.phase.startsWith('save-triggered'));
    console.log(`[sigkill] save-triggered kills: ${saves.length}; the round committed before the kill in ${saves.filter((k) => k.completedAfter > k.completedBefore).length}, `
      + `not committed in ${saves.filter((k) => k.completedAfter === k.completedBefore).length} (leftovers: ${saves.filter((k) => k.completedAfter === k.completedBefore).map((k) => k.leftover || 'none').join(' | ')})`);
    console.log(`[sigkill] ${ROUNDS} rounds completed in ${since()} (last ${(finishMs / 1000).toFixed(1)}s without kills); coordinator boot ${Math.min(...bootTimes)}-${Math.max(...bootTimes)} ms; `
      + `${fingerprints.size} round files verified; final mean accuracy ${lastRound.meanAccuracy.toFixed(3)}; widths ${lastRound.clusters.map((c) => c.widthRatio).join('/')}; `
      + `client-side refusals ${[...refusals].map(([c, k]) => `${c} x${k}`).join(', ') || 'none'}; server error lines ${errors.length}`);
    for (const line of errors.slice(0, 5)) console.log(`[sigkill] server error: ${line.slice(0, 300)}`);
    expect(kills.length).toBe(KILLS);
  });
});
