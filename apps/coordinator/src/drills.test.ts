/**
 * Short fault drills against a real coordinator (port 0, real Fashion-MNIST, real sockets):
 *   1. a quarter of the clients vanish mid-round: the round closes at its deadline with the rest;
 *   2. 10,000 random and malformed inputs (socket events, raw packets, handshakes, HTTP): every
 *      refusal is coded, the saved models are byte-identical, the server still serves clients;
 *   3. every control route and the dashboard namespace refuse a missing, wrong or malformed admin token.
 * Everything random comes from a seeded PRNG, so a failure reproduces.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { modelManifest } from '@fedtsa/core/architecture';
import { createRng, type Rng } from '@fedtsa/core/rng';
import { decodeWeights, encodeWeights, type ManifestEntry } from '@fedtsa/protocol/codec';
import { isErrorCode, type Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE, type TrainingTask, type Welcome } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { SPEC, type Coordinator } from './app.ts';
import type { RoundRecord } from './store/types.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator, until } from './test-helpers.ts';
import { VirtualClient } from './virtual-client/virtual-client.ts';

let coordinator: Coordinator;
let url: string;
const virtualClients: VirtualClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  ({ coordinator, url } = await startCoordinator());
}, 60_000);

afterAll(async () => {
  for (const c of virtualClients) c.close();
  for (const s of sockets) s.close();
  await coordinator?.close();
});

type Json = Record<string, unknown>;

async function api(method: string, path: string, body?: unknown, token: string | null = ADMIN) {
  const res = await fetch(`${url}${path}`, {
    method, headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, body: json as Json, text };
}

function rawClient(runId: string, joinToken: string, extra: Json = {}): Socket {
  const s = io(`${url}${CLIENT_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION, runId, joinToken, ...extra }, transports: ['websocket'], reconnection: false, forceNew: true,
  });
  sockets.push(s);
  return s;
}

function welcomed(s: Socket, timeoutMs = 10_000): Promise<Welcome> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no welcome')), timeoutMs);
    s.once('welcome', (w: Welcome) => { clearTimeout(t); resolve(w); });
    s.once('connect_error', (e: Error) => { clearTimeout(t); reject(e); });
  });
}

/** Kills the connection without a close frame or a socket.io disconnect: the client simply vanishes. */
function vanish(s: Socket): void {
  (s.io.engine.transport as unknown as { ws: { terminate(): void } }).ws.terminate();
}

/** The weights the client was sent, returned unchanged: a well-formed update with distance 0, claiming the `samples` the client holds. */
function echoUpdate(task: TrainingTask, samples: number) {
  const manifest = modelManifest(SPEC, task.widthRatio);
  return { runId: task.runId, round: task.round, clusterIndex: task.clusterIndex, taskId: task.taskId, numSamples: samples, trainLoss: 0.5, weights: encodeWeights(decodeWeights(task.weights), manifest) };
}

const sha = (bytes: Uint8Array | Float32Array) => createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');

class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void { this.counts.set(key, (this.counts.get(key) ?? 0) + 1); }
  get total(): number { return [...this.counts.values()].reduce((a, b) => a + b, 0); }
  toString(): string { return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', '); }
}

function isWellFormedAck(res: unknown): res is Ack<unknown> {
  if (typeof res !== 'object' || res === null) return false;
  const r = res as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
  if (r.ok === true) return 'value' in r;
  return r.ok === false && typeof r.error === 'object' && r.error !== null && isErrorCode(r.error.code) && typeof r.error.message === 'string';
}

// ---------------------------------------------------------------------------------------------
// Random inputs, all from one seeded PRNG.

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)] as T;
const int = (r: Rng, n: number): number => Math.floor(r.next() * n);
const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '%', '\u0000', '\n', 'é', '中', '😀', '\ud800', '{', '}', '[', ']', ',', ':', '-', '_', '.', '$'];

function randomString(r: Rng, max = 24): string {
  let s = '';
  for (let i = int(r, max + 1); i > 0; i--) s += pick(r, CHARS);
  return s;
}

/** n seeded random bytes (xorshift32 seeded from `r`: cheap enough for model-sized buffers). */
function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  const words = new Uint32Array(b.buffer, 0, n >> 2);
  let x = (Math.floor(r.next() * 0xffffffff) | 1) >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < n; i++) b[i] = int(r, 256);
  return b;
}

const ODD_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e308, NaN, Infinity, -Infinity, 5e-324];

/** Any JSON-ish value, with binary attachments; occasionally huge (deep, wide or long). */
function randomValue(r: Rng, depth = 0): unknown {
  switch (int(r, depth > 2 ? 8 : 11)) {
    case 0: return int(r, 2_000_000) - 1_000_000;
    case 1: return pick(r, ODD_NUMBERS);
    case 2: return randomString(r);
    case 3: return r.next() < 0.5;
    case 4: return null;
    case 5: return undefined;
    case 6: return randomBytes(r, pick(r, [0, 1, 3, 7, 64, 1000]));
    case 7: return pick(r, [{}, [], '', 'null', '[object Object]', { __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { polluted: true } } }]);
    case 8: return Array.from({ length: int(r, 5) }, () => randomValue(r, depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: int(r, 5) }, () => [randomString(r, 8), randomValue(r, depth + 1)]));
    default: return hugeValue(r);
  }
}

function hugeValue(r: Rng): unknown {
  switch (int(r, 4)) {
    case 0: { // deep
      let v: unknown = randomBytes(r, 4);
      for (let i = 200 + int(r, 800); i > 0; i--) v = r.next() < 0.5 ? [v] : { k: v };
      return v;
    }
    case 1: return Object.fromEntries(Array.from({ length: 2000 + int(r, 3000) }, (_, i) => [`k${i}`, i])); // wide
    case 2: return 'x'.repeat(50_000 + int(r, 100_000)); // long
    default: return Array.from({ length: 5000 }, () => int(r, 1000)); // a long array of numbers
  }
}

/** A valid object with one or two faults: a field dropped, replaced by an odd value or by anything; sometimes an extra field. */
function mutate(r: Rng, valid: Json, alternatives: Record<string, unknown[]>): unknown {
  const out: Json = { ...valid };
  const keys = Object.keys(alternatives);
  for (let faults = 1 + int(r, 2); faults > 0; faults--) {
    const key = pick(r, keys);
    const p = r.next();
    if (p < 0.25) delete out[key];
    else if (p < 0.85) out[key] = pick(r, alternatives[key] as unknown[]);
    else out[key] = randomValue(r);
  }
  if (r.next() < 0.1) out[randomString(r, 6) || 'extra'] = randomValue(r);
  return r.next() < 0.03 ? [out] : out;
}

function randomCapability(r: Rng): unknown {
  return mutate(r, { samplesPerSec: 500, backend: 'node' }, {
    samplesPerSec: [0, -5, 1e8, NaN, '500', null, 1e7],
    backend: ['gpu', 'webgpu', 'NODE', 1, null, ''],
    memoryGb: [-1, 1e5, 'lots', 8],
    cores: [0, 1.5, 5000, 4, '4'],
    ownDataSamples: [0, 1e9, 0.5, 600],
    label: ['x'.repeat(201), 7, 'ok'],
  });
}

function randomHeartbeat(r: Rng): unknown {
  return mutate(r, { status: 'idle' }, {
    status: ['sleeping', 'TRAINING', 1, null, 'training', 'paused'],
    round: [-1, 1.5, '2', 3],
    progress: [-0.1, 1.1, NaN, 0.5, '0.5'],
  });
}

interface UpdateTarget { runId: string; round: number; clusterIndex: number; manifest: ManifestEntry[] }

/**
 * Garbage updates, one fault each, never acceptable: a correct byte length always carries a NaN
 * or values far from the model. Model-sized buffers (`big`) only for the client selected this round.
 */
function randomUpdate(r: Rng, t: UpdateTarget, big: boolean): unknown {
  const n = t.manifest.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const base = { runId: t.runId, round: t.round, clusterIndex: t.clusterIndex, numSamples: 60, trainLoss: 0.5 };
  const small = () => randomBytes(r, pick(r, [0, 1, 3, 8, 1000]));
  const update = (weights: unknown) => ({ ...base, weights });
  const f = r.next();
  if (f < 0.25) { // a fault in the envelope (small data, so a valid envelope still fails on the length)
    return mutate(r, update({ manifest: t.manifest, dtype: 'float32', data: small() }), {
      runId: ['run-nope', '', 5, 'x'.repeat(65)], round: [t.round - 1, t.round + 1, 0, -1, 1.5, `${t.round}`],
      clusterIndex: [t.clusterIndex + 1, -1, 65, 0.5], numSamples: [0, 1e9, -5, 2.5], trainLoss: ['low', null, '0.5'], weights: [null, 'w', [], {}],
    });
  }
  if (f < 0.4) { // a wrong manifest
    return update({ dtype: 'float32', data: small(), manifest: pick(r, [
      t.manifest.slice(0, -1), [...t.manifest, { name: 'extra', shape: [1] }], t.manifest.map((p, i) => (i === 0 ? { ...p, shape: [...p.shape, 2] } : p)),
      t.manifest.map((p, i) => (i === 1 ? { ...p, name: 'renamed' } : p)), [{ name: 'x', shape: [1e8, 1e8, 1e8, 1e8, 1e8, 1e8, 1e8, 1e8] }],
      Array.from({ length: 1025 }, () => ({ name: 'x', shape: [1] })), [{ name: 'x', shape: [0] }], [{ name: 'x', shape: [-3] }], 'manifest', null, [],
    ]) });
  }
  if (f < 0.5) return update(mutate(r, { manifest: t.manifest, dtype: 'float32', data: small() }, { dtype: ['float64', 'int8', 'float16', null, 7], extra: [1] }));
  if (f < 0.65) return update({ manifest: t.manifest, dtype: 'float32', data: pick(r, [[1, 2, 3], 'AAAA', null, undefined, { 0: 1 }, 42, true, randomValue(r)]) });
  if (!big || f < 0.85) return update({ manifest: t.manifest, dtype: pick(r, ['float32', 'float16']), data: small() }); // the wrong length
  if (f < 0.9) return update({ manifest: t.manifest, dtype: 'float32', data: randomBytes(r, n * 4 + pick(r, [-4, -1, 1, 4])) });
  if (f < 0.95) { // the right length in float32 or float16, random bits with at least one NaN
    const dtype = r.next() < 0.5 ? 'float32' : 'float16';
    const width = dtype === 'float32' ? 4 : 2;
    const data = randomBytes(r, n * width);
    data.set(width === 4 ? [0xff, 0xff, 0xff, 0x7f] : [0xff, 0x7f], width * int(r, n));
    return update({ manifest: t.manifest, dtype, data });
  }
  return update({ manifest: t.manifest, dtype: 'float32', data: new Uint8Array(new Float32Array(n).fill(1e30).buffer) }); // finite, far too far
}

const SERVER_EVENT_NAMES = ['welcome', 'task', 'assignment', 'round-closed', 'run-state', 'refused', 'ping', 'pong', 'message', 'error', 'connection'];
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
/** socket.io-client itself refuses to emit these. */
const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

function randomEventName(r: Rng): string {
  const p = r.next();
  if (p < 0.3) return pick(r, SERVER_EVENT_NAMES);
  if (p < 0.45) return pick(r, PROTO_NAMES);
  if (p < 0.5) return pick(r, ['', ' update', 'Update', 'capability\u0000', 'x'.repeat(10_000)]);
  return randomString(r, 16);
}

// ---------------------------------------------------------------------------------------------

describe('fault drills', () => {
  it('drill 1: a quarter of the clients vanish mid-round; the round closes at its deadline with the rest and the run completes', async () => {
    const DEADLINE = 8000;
    const SLACK = 6000; // evaluation of the starting models, Stage 1 and evaluation after the deadline, on a shared machine
    const created = await api('POST', '/api/runs', {
      name: 'vanish', settings: { ...FAST_SETTINGS, rounds: 3, minClientsToStart: 6, roundDeadlineMs: DEADLINE, stage2: { enabled: false } },
    });
    expect(created.status).toBe(201);
    const { id, joinToken } = created.body as { id: string; joinToken: string };
    const engine = coordinator.registry.get(id)!;

    // Two speed tiers (two clusters); one client of each tier will vanish.
    const speeds = [1500, 1600, 1400, 1550, 40, 44, 36, 42];
    const vanishing = new Set([3, 7]);
    const survivors: VirtualClient[] = [];
    const vanished: { clientId: string; taskRound: number; vanishedAt: number }[] = [];
    for (const [i, speed] of speeds.entries()) {
      if (!vanishing.has(i)) {
        const vc = new VirtualClient({ url, runId: id, joinToken, samplesPerSec: speed, label: `c${i}` });
        survivors.push(vc);
        virtualClients.push(vc);
        continue;
      }
      const s = rawClient(id, joinToken);
      const v = { clientId: '', taskRound: 0, vanishedAt: 0 };
      vanished.push(v);
      s.on('welcome', (w: Welcome) => {
        v.clientId = w.clientId;
        s.emit('capability', { samplesPerSec: speed, backend: 'node', label: `vanishing-${i}` }, () => {});
      });
      s.on('task', (t: TrainingTask) => {
        if (v.taskRound) return;
        v.taskRound = t.round;
        v.vanishedAt = Date.now();
        vanish(s);
      });
    }
    await until(() => coordinator.store.listClients(id).filter((c) => c.samplesPerSec > 0).length === 8, 30_000, 'eight clients reporting their capability');
    expect((await api('POST', `/api/runs/${id}/start`)).status).toBe(200);

    // Both vanish on receiving their round-1 task; the coordinator notices while round 1 is still open.
    await until(() => vanished.every((v) => v.taskRound === 1), 10_000, 'the vanishing clients to get their task');
    await until(() => vanished.every((v) => coordinator.store.getClient(id, v.clientId)?.status === 'disconnected'), 5000, 'the coordinator to see them gone');
    expect(engine.record.completedRound).toBe(0);
    expect(engine.currentRound).toBe(1);

    await until(() => engine.record.completedRound >= 1, DEADLINE + SLACK + 5000, 'round 1 to close');
    const rounds1 = (await api('GET', `/api/runs/${id}/rounds`)).body as unknown as RoundRecord[];
    const r1 = rounds1[0]!;
    const r1Ms = r1.closedAt - r1.startedAt;
    expect(r1.participants).toBe(8);
    expect(r1.updatesAccepted).toBe(6);
    expect(r1.clustering.clusters).toHaveLength(2);
    expect(r1Ms).toBeGreaterThanOrEqual(DEADLINE); // it waited for the vanished two...
    expect(r1Ms).toBeLessThanOrEqual(DEADLINE + SLACK); // ...but not much longer

    await until(() => engine.record.state === 'completed', 60_000, 'the run to complete');
    const rounds = (await api('GET', `/api/runs/${id}/rounds`)).body as unknown as RoundRecord[];
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    for (const r of rounds.slice(1)) {
      expect(r.participants).toBe(6);
      expect(r.updatesAccepted).toBe(6);
    }
    for (const vc of survivors) expect(vc.acceptedRounds).toEqual([1, 2, 3]);
    const clients = (await api('GET', `/api/runs/${id}/clients`)).body as unknown as { id: string; status: string }[];
    for (const v of vanished) expect(clients.find((c) => c.id === v.clientId)?.status).toBe('disconnected');
    console.log(`[drill 1] round 1 closed ${r1Ms} ms after it started (deadline ${DEADLINE} ms); `
      + `rounds 2-3 took ${rounds.slice(1).map((r) => r.closedAt - r.startedAt).join(' / ')} ms; accepted ${rounds.map((r) => r.updatesAccepted).join('/')}`);
  }, 90_000);

  it('drill 2: 10,000 random and malformed inputs are refused with codes; models stay byte-identical; the server still serves', async () => {
    const SEED = 20_250_601;
    const rng = createRng(SEED);
    const created = await api('POST', '/api/runs', {
      name: 'fuzz', settings: { ...FAST_SETTINGS, rounds: 3, minClientsToStart: 2, roundDeadlineMs: 120_000, stage2: { enabled: false } },
    });
    const { id, joinToken } = created.body as { id: string; joinToken: string };
    const engine = coordinator.registry.get(id)!;

    // An honest client, and P: a raw client that echoes its task (round 1) and then holds round 2 open.
    const honest = new VirtualClient({ url, runId: id, joinToken, samplesPerSec: 500, label: 'honest' });
    virtualClients.push(honest);
    const p = rawClient(id, joinToken);
    const pTasks: TrainingTask[] = [];
    let pEchoes = false;
    p.on('task', (t: TrainingTask) => {
      pTasks.push(t);
      if (pEchoes) p.emit('update', echoUpdate(t, pSamples), () => {});
    });
    // P claims the size of the demo shard it was dealt (shards differ in size; a larger claim is refused).
    const pSamples = (await welcomed(p)).demoShard?.samples ?? 1;
    expect(((await p.timeout(5000).emitWithAck('capability', { samplesPerSec: 500, backend: 'node' })) as Ack<unknown>).ok).toBe(true);
    await until(() => coordinator.store.listClients(id).filter((c) => c.samplesPerSec > 0).length === 2, 20_000, 'both clients ready');
    await api('POST', `/api/runs/${id}/start`);
    await until(() => pTasks.length >= 1, 20_000, "P's round-1 task");
    expect(((await p.timeout(5000).emitWithAck('update', echoUpdate(pTasks[0]!, pSamples))) as Ack<unknown>).ok).toBe(true);
    await until(() => engine.record.completedRound >= 1 && pTasks.length >= 2 && honest.acceptedRounds.includes(2), 30_000, 'round 2 open with the honest update in');
    const task2 = pTasks[1]!;
    expect(task2.round).toBe(2);

    const snapshot = async () => {
      const saved = coordinator.store.listRounds(id)[0]!.clusters.map((c) => sha(coordinator.store.readModelBytes(id, 1, c.clusterIndex)!));
      const live = engine.clusterModels().map((m) => sha(m.weights));
      const served = await Promise.all(engine.clusterModels().map(async (m) => {
        const res = await fetch(`${url}/api/runs/${id}/clusters/${m.clusterIndex}/weights.bin`, { headers: { authorization: `Bearer ${ADMIN}` } });
        return sha(new Uint8Array(await res.arrayBuffer()));
      }));
      const run = (await api('GET', `/api/runs/${id}`)).body as { state: string; completedRound: number; currentRound: number };
      return { saved, live, served, state: run.state, completedRound: run.completedRound, currentRound: run.currentRound };
    };
    const before = await snapshot();
    expect(before).toMatchObject({ state: 'running', completedRound: 1, currentRound: 2 });
    expect(before.served).toEqual(before.live);

    const level = coordinator.app.log.level;
    coordinator.app.log.level = 'silent'; // thousands of refusals would flood the output
    const started = Date.now();
    const acks = new Tally(); // codes (or 'ok') of every answer by ack
    const refusedEvents = new Tally(); // codes of 'refused' events (refusals of events sent without an ack)
    const malformedAnswers: unknown[] = [];
    const acceptedGarbage: unknown[] = [];
    let sent = 0;
    const timings: Record<string, number> = {};
    const onRefused = (e: { code?: unknown; message?: unknown }) => {
      if (isErrorCode(e?.code) && typeof e.message === 'string') refusedEvents.add(e.code);
      else malformedAnswers.push({ refused: e });
    };
    const record = (event: string) => (res: unknown) => {
      if (!isWellFormedAck(res)) return void malformedAnswers.push({ event, res });
      acks.add(res.ok ? `${event}:ok` : res.error.code);
      if (res.ok && event === 'update') acceptedGarbage.push(res);
    };

    // (a) 200 random handshakes on both namespaces: every refusal carries a code.
    let t0 = Date.now();
    const handshakes = new Tally();
    const known = coordinator.store.listClients(id)[0]!;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 10 }, async () => {
        sent++;
        const dashboard = rng.next() < 0.2;
        const auth = dashboard
          ? mutate(rng, { adminToken: 'not-the-token' }, { adminToken: [ADMIN.slice(0, -1), `${ADMIN} `, 7, null, ['x'], `Bearer ${ADMIN}`] })
          : mutate(rng, { protocolVersion: PROTOCOL_VERSION, runId: id, joinToken: 'wrong' }, {
            protocolVersion: [0, 2, '1', 1.5, null, PROTOCOL_VERSION], runId: ['run-nope', '', 'x'.repeat(65), 5, id],
            joinToken: [`${joinToken}x`, '', 'x'.repeat(129), 5, joinToken.slice(1)], clientId: [known.id, 'c-nope', '', 5], clientSecret: ['nope', '', 5, 'x'.repeat(129)],
          });
        const s = io(`${url}${dashboard ? DASHBOARD_NAMESPACE : CLIENT_NAMESPACE}`, {
          auth: (typeof auth === 'object' && auth !== null && !Array.isArray(auth) ? auth : { auth }) as Json, transports: ['websocket'], reconnection: false, forceNew: true,
        });
        const outcome = await new Promise<string>((resolve) => {
          const t = setTimeout(() => resolve('timeout'), 5000);
          s.on('connect_error', (err: Error & { data?: { code?: unknown } }) => { clearTimeout(t); resolve(isErrorCode(err.data?.code) ? err.data.code : `uncoded: ${err.message}`); });
          s.on('connect', () => { clearTimeout(t); resolve('connected'); });
        });
        s.close();
        handshakes.add(outcome);
      }));
    }
    timings.handshakes = Date.now() - t0;

    // (b) 7,000 socket events: P (selected this round) sends 1,000 garbage updates, six fuzzers 6,000 mixed events.
    t0 = Date.now();
    p.on('refused', onRefused);
    const fuzzers: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = rawClient(id, joinToken);
      s.on('refused', onRefused);
      fuzzers.push(s);
      await welcomed(s);
    }
    const target: UpdateTarget = { runId: id, round: task2.round, clusterIndex: task2.clusterIndex, manifest: modelManifest(SPEC, task2.widthRatio) };
    const pUpdates = new Tally();
    const expected = new Set<string>(); // answers still owed for (payload, ack) requests
    let seq = 0;
    let drained: (() => void) | undefined;
    const owe = (event: string, onAnswer: (res: unknown) => void) => {
      const key = `${event}#${seq++}`;
      expected.add(key);
      return (res: unknown) => {
        expected.delete(key);
        onAnswer(res);
        if (expected.size === 0) drained?.();
      };
    };
    const allAnswered = (what: string) => new Promise<void>((resolve, reject) => {
      if (expected.size === 0) return resolve();
      const timer = setTimeout(() => reject(new Error(`no answer to ${what}: ${[...expected].slice(0, 5).join(', ')}`)), 20_000);
      drained = () => { clearTimeout(timer); drained = undefined; resolve(); };
    });
    const emitRandom = (s: Socket) => {
      const p_ = rng.next();
      let event: string;
      if (p_ < 0.2) event = randomEventName(rng);
      else if (p_ < 0.45) event = 'capability';
      else if (p_ < 0.75) event = 'update';
      else if (p_ < 0.95) event = 'heartbeat';
      else event = 'demo-shard';
      const structured = rng.next() < 0.6;
      const payload = !structured ? randomValue(rng)
        : event === 'capability' ? randomCapability(rng)
          : event === 'update' ? randomUpdate(rng, target, false)
            : event === 'heartbeat' ? randomHeartbeat(rng)
              : event === 'demo-shard' ? pick(rng, [{}, { shard: 3 }, null]) : randomValue(rng);
      const form = rng.next();
      const ackExpected = ['capability', 'update', 'demo-shard'].includes(event);
      if (CLIENT_RESERVED.has(event)) event = `x-${event}`;
      if (form < 0.35) s.emit(event, payload);
      else if (form < 0.8) s.emit(event, payload, ackExpected ? owe(event, record(event)) : record(event));
      else if (form < 0.85) s.emit(event, record(event));
      else if (form < 0.9) s.emit(event);
      else if (form < 0.95) s.emit(event, payload, randomValue(rng), record(event));
      else s.emit(event, payload, randomValue(rng));
      sent++;
    };
    const pAnswer = (res: unknown) => {
      record('update')(res);
      pUpdates.add(isWellFormedAck(res) ? (res.ok ? 'ok' : res.error.code) : 'malformed');
    };
    for (let batch = 0; batch < 50; batch++) {
      // P: 1,000 updates for the open round, each with an ack, so every refusal is counted.
      for (let i = 0; i < 20; i++, sent++) p.emit('update', randomUpdate(rng, target, true), owe('p-update', pAnswer));
      for (const s of fuzzers) for (let i = 0; i < 20; i++) emitRandom(s);
      await allAnswered(`batch ${batch}`);
    }
    timings.events = Date.now() - t0;

    // (c) 300 raw socket.io packets, written straight to the transport; many make the server drop the connection.
    t0 = Date.now();
    const rawOutcomes = new Tally();
    const placeholder = (num: number) => `{"_placeholder":true,"num":${num}}`;
    const rawPackets: (() => (string | Uint8Array)[])[] = [
      () => ['2/client,["update"'], () => ['2/client,{"a":1}'], () => ['2/client,[1,2]'], () => ['2/client,["disconnect"]'], () => ['2/client,["connect"]'],
      () => ['2/client,[]'], () => ['2/client,"update"'], () => ['7'], () => ['9/client,[]'], () => ['x'], () => [''], () => ['2/client,12abc["update",{}]'],
      () => ['2/client,99999999999999999999999["update",{}]'], () => ['3/client,5["x"]'], () => [`51-/client,["update",${placeholder(0)}]`, '2/client,["heartbeat",{}]'],
      () => [`52-/client,["update",${placeholder(7)}]`, randomBytes(rng, 8), randomBytes(rng, 8)], () => [`51-/client,["update",${placeholder(0)}]`, new Uint8Array(0)],
      () => ['0/client,{}'], () => ['0/other,{}'], () => ['1/client,'], () => ['2/other,["x"]'], () => ['4/client,{"message":"x"}'], () => ['2/client,["leave",1,2,3]'],
      () => [`2/client,["capability",${'['.repeat(5000)}${']'.repeat(5000)}]`], () => [`51-/client,["update",${'['.repeat(20_000)}${placeholder(0)}${']'.repeat(20_000)}]`, randomBytes(rng, 4)],
      () => [`2/client,["update",${JSON.stringify({ runId: id, round: 2, clusterIndex: 0, numSamples: 1, trainLoss: 0, weights: { manifest: [], dtype: 'float32', data: 'AAAA' } })}]`],
      () => [`2/client,7["capability",{"samplesPerSec":"fast"}]`], () => [`2/client,["heartbeat",{"status":"idle"}]`], () => [randomString(rng, 40)],
      () => [`2/client,["update",${JSON.stringify('x'.repeat(1_300_000))}]`], // larger than maxHttpBufferSize
    ];
    let live: Socket | undefined;
    let liveDead = false;
    for (let i = 0; i < 300; i++) {
      if (!live || liveDead) {
        live?.close();
        live = rawClient(id, joinToken);
        liveDead = false;
        const current = live;
        current.on('disconnect', () => { if (live === current) liveDead = true; });
        current.on('refused', onRefused);
        await welcomed(current);
      }
      const packets = pick(rng, rawPackets)();
      for (const pkt of packets) live.io.engine.write(pkt as string);
      sent++;
      await new Promise((r) => setTimeout(r, 5));
      rawOutcomes.add(liveDead ? 'connection dropped' : 'connection kept');
    }
    live?.close();
    timings.rawPackets = Date.now() - t0;

    // (d) 2,500 HTTP requests: random methods, paths, bodies and tokens.
    t0 = Date.now();
    const http = new Tally();
    const uncoded: { method: string; path: string; status: number; body: string }[] = [];
    const serverErrors: { method: string; path: string; status: number; body: string }[] = [];
    const internalFor4xx: { method: string; path: string; status: number; body: string }[] = [];
    const networkErrors: { method: string; path: string; bodyBytes: number; error: string }[] = [];
    const segment = () => pick(rng, ['run-nope', randomString(rng, 10).replace(/[/?#]/g, '') || 'x', '', 'a'.repeat(65), 'a'.repeat(101), '%ZZ', '%00', '..', '%2F', encodeURIComponent(randomString(rng, 10).replace(/\ud800(?![\udc00-\udfff])/g, '\ufffd')), '%E0%A4%A']);
    const httpRequest = () => {
      const method = pick(rng, ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      const mutating = method !== 'GET' && method !== 'HEAD';
      const runId = () => (!mutating && rng.next() < 0.4 ? id : segment());
      const cluster = () => pick(rng, ['0', '1', '-1', '65', 'x', '1e9', '0.5', segment()]);
      let path = rng.next() < 0.8
        ? pick(rng, [
          () => '/api/runs', () => `/api/runs/${runId()}`, () => `/api/runs/${runId()}/${pick(rng, ['start', 'pause', 'resume', 'stop', segment()])}`,
          () => `/api/runs/${runId()}/${pick(rng, ['rounds', 'clients', 'metrics', 'metrics.csv'])}`, () => '/api/settings-schema', () => '/api/health',
          () => `/api/runs/${runId()}/clusters/${cluster()}/${pick(rng, ['model.json', 'weights.bin'])}`,
        ])()
        : pick(rng, [() => `/api/${segment()}`, () => `/${segment()}`, () => '/api/runs/', () => '//api//runs', () => `/api/runs/${segment()}/${segment()}/${segment()}/${segment()}`, () => '/api'])();
      if (rng.next() < 0.1) path += `?${pick(rng, ['a=1', 'token=x', '%ZZ', 'x'.repeat(2000), '__proto__[x]=1'])}`;
      const authP = rng.next();
      const authorization = authP < 0.6 ? `Bearer ${ADMIN}` : authP < 0.75 ? undefined : authP < 0.85 ? 'Bearer wrong' : pick(rng, ['Bearer', `Basic ${ADMIN}`, ADMIN, `Token ${ADMIN}`, 'Bearer \u00e9', `Bearer ${ADMIN}${ADMIN}`]);
      let body: string | Uint8Array | undefined;
      let contentType: string | undefined;
      if (mutating && rng.next() < 0.85) {
        const b = rng.next();
        if (b < 0.5) {
          contentType = 'application/json';
          body = JSON.stringify(rng.next() < 0.6 ? mutate(rng, { name: 'fuzzed' }, {
            name: [5, 'x'.repeat(201), null], settings: [{ rounds: 0 }, { rounds: 'many' }, { nope: 1 }, { stage2: 5 }, [], 'x', { roundDeadlineMs: 1 }],
            start: ['yes', 1, null],
          }) : randomValue(rng)) ?? 'undefined';
        } else if (b < 0.65) { contentType = 'application/json'; body = pick(rng, ['{"name":', '', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'NaN', '\u0000']); }
        else if (b < 0.75) { contentType = pick(rng, ['application/octet-stream', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16']); body = randomBytes(rng, int(rng, 2000)); }
        else if (b < 0.76) { contentType = 'application/json'; body = `{"name":"${'x'.repeat(1_100_000)}"}`; } // over the body limit
        else { contentType = rng.next() < 0.5 ? 'application/json' : undefined; body = JSON.stringify(randomValue(rng)) ?? ''; }
      }
      return { method, path, authorization, body, contentType };
    };
    const requests = Array.from({ length: 2500 }, httpRequest);
    let next = 0;
    await Promise.all(Array.from({ length: 12 }, async () => {
      while (next < requests.length) {
        const req = requests[next++]!;
        sent++;
        const headers: Record<string, string> = {};
        if (req.authorization !== undefined) headers.authorization = req.authorization;
        if (req.contentType !== undefined) headers['content-type'] = req.contentType;
        let res: Response;
        try {
          res = await fetch(`${url}${req.path}`, { method: req.method, headers, body: req.body as RequestInit['body'] });
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          networkErrors.push({ method: req.method, path: req.path.slice(0, 80), bodyBytes: req.body?.length ?? 0, error: cause?.code ?? cause?.message ?? (err as Error).message });
          http.add('network error');
          continue;
        }
        const text = await res.text();
        let code: unknown;
        try { code = (JSON.parse(text) as { code?: unknown }).code; } catch { code = undefined; }
        http.add(req.method === 'HEAD' ? `HEAD ${res.status} (no body)` : `${res.status}${isErrorCode(code) ? ` ${code}` : ''}`);
        if (res.status >= 500) serverErrors.push({ method: req.method, path: req.path.slice(0, 80), status: res.status, body: text.slice(0, 200) });
        // A HEAD answer has no body to carry a code.
        if (res.status >= 400 && req.method !== 'HEAD' && !isErrorCode(code)) uncoded.push({ method: req.method, path: req.path.slice(0, 80), status: res.status, body: text.slice(0, 200) });
        if (res.status >= 400 && res.status < 500 && code === 'FEDTSA_ERR_INTERNAL') internalFor4xx.push({ method: req.method, path: req.path.slice(0, 80), status: res.status, body: text.slice(0, 200) });
      }
    }));
    timings.http = Date.now() - t0;
    coordinator.app.log.level = level;
    const elapsed = Date.now() - started;

    console.log(`[drill 2] seed ${SEED}: ${sent} inputs in ${elapsed} ms (${Object.entries(timings).map(([k, v]) => `${k} ${v} ms`).join(', ')})`);
    console.log(`[drill 2] handshakes: ${handshakes}`);
    console.log(`[drill 2] answers by ack: ${acks}`);
    console.log(`[drill 2] P's updates: ${pUpdates}`);
    console.log(`[drill 2] 'refused' events: ${refusedEvents}`);
    console.log(`[drill 2] raw packets: ${rawOutcomes}`);
    console.log(`[drill 2] HTTP: ${http}`);
    if (networkErrors.length) console.log(`[drill 2] HTTP network errors: ${JSON.stringify(networkErrors.slice(0, 5))}`);
    if (uncoded.length) console.log(`[drill 2] uncoded 4xx: ${JSON.stringify(uncoded.slice(0, 10))}`);
    if (internalFor4xx.length) console.log(`[drill 2] 4xx labelled FEDTSA_ERR_INTERNAL: ${JSON.stringify(internalFor4xx.slice(0, 5))}`);

    expect(sent).toBe(10_000);
    expect(malformedAnswers).toEqual([]);
    expect(acceptedGarbage).toEqual([]);
    expect(pUpdates.total).toBe(1000);
    expect(pUpdates.counts.get('ok')).toBeUndefined();
    expect([...handshakes.counts.keys()].filter((k) => !isErrorCode(k) && k !== 'connected')).toEqual([]);
    expect(serverErrors).toEqual([]);
    // Every HTTP refusal carries a code, an unknown route's 404 included (routes/strict.ts).
    expect(uncoded).toEqual([]);
    // A client's error is never labelled as the coordinator's failure (FEDTSA_ERR_INTERNAL says: retry).
    expect(internalFor4xx).toEqual([]);
    // Oversized bodies may be cut off by the server after its 413; nothing else may fail at the network level.
    expect(networkErrors.filter((e) => e.bodyBytes < 1_000_000)).toEqual([]);

    // The server is up, the run and its models are untouched.
    const health = await api('GET', '/api/health', undefined, null);
    expect(health.status).toBe(200);
    expect(health.body.ok).toBe(true);
    const after = await snapshot();
    expect(after).toEqual(before);
    // The engine counts the refusals of its own checks for the round: exactly P's refusals after it was found selected.
    const engineChecks = ['FEDTSA_ERR_RUN_NOT_FOUND', 'FEDTSA_ERR_WRONG_CLUSTER', 'FEDTSA_ERR_SHAPE_MISMATCH', 'FEDTSA_ERR_NON_FINITE', 'FEDTSA_ERR_NORM_TOO_LARGE'];
    const round2Refused = engineChecks.reduce((n, code) => n + (pUpdates.counts.get(code) ?? 0), 0);

    // And it still serves: a new client joins; P's honest update closes round 2; round 3 runs with the newcomer.
    for (const s of fuzzers) s.close();
    const newcomer = new VirtualClient({ url, runId: id, joinToken, samplesPerSec: 500, label: 'newcomer' });
    virtualClients.push(newcomer);
    await until(() => (coordinator.store.getClient(id, newcomer.welcome?.clientId ?? '')?.samplesPerSec ?? 0) > 0, 20_000, 'the newcomer to join');
    await until(() => [...coordinator.io.of(CLIENT_NAMESPACE).sockets.values()].filter((s) => s.data.runId === id).length === 3, 10_000, 'the fuzzers to be gone');
    pEchoes = true;
    expect(((await p.timeout(5000).emitWithAck('update', echoUpdate(task2, pSamples))) as Ack<unknown>).ok).toBe(true);
    await until(() => engine.record.state === 'completed', 40_000, 'the run to complete');
    const rounds = coordinator.store.listRounds(id);
    expect(rounds.map((r) => [r.round, r.participants, r.updatesAccepted])).toEqual([[1, 2, 2], [2, 2, 2], [3, 3, 3]]);
    expect(rounds[1]!.updatesRefused).toBe(round2Refused);
    expect(newcomer.acceptedRounds).toEqual([3]);
    expect(coordinator.store.listRounds(id)[0]!.clusters.map((c) => sha(coordinator.store.readModelBytes(id, 1, c.clusterIndex)!))).toEqual(before.saved);
  }, 90_000);

  it('drill 3: every control route and the dashboard namespace refuse a missing, wrong or malformed admin token; the run is unchanged', async () => {
    const created = await api('POST', '/api/runs', { name: 'guarded', settings: { ...FAST_SETTINGS, rounds: 2 } });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };
    const state = async () => ({ run: (await api('GET', `/api/runs/${id}`)).body, runs: coordinator.registry.list().length, rounds: coordinator.store.listRounds(id).length });
    const before = await state();
    expect(before.run.state).toBe('created');

    const routes: [string, string, unknown?][] = [
      ['GET', '/api/runs'], ['POST', '/api/runs', { name: 'intruder', start: true }], ['GET', `/api/runs/${id}`],
      ['POST', `/api/runs/${id}/start`], ['POST', `/api/runs/${id}/pause`], ['POST', `/api/runs/${id}/resume`], ['POST', `/api/runs/${id}/stop`],
      ['GET', `/api/runs/${id}/rounds`], ['GET', `/api/runs/${id}/clients`], ['GET', `/api/runs/${id}/metrics`], ['GET', `/api/runs/${id}/metrics.csv`],
      ['GET', '/api/settings-schema'], ['GET', '/api/process'], ['GET', `/api/runs/${id}/clusters/0/model.json`], ['GET', `/api/runs/${id}/clusters/0/weights.bin`],
    ];
    const authorizations: [string, string | undefined][] = [
      ['none', undefined], ['wrong token', 'Bearer not-the-admin-token'], ['token with a suffix', `Bearer ${ADMIN}x`], ['no token after the scheme', 'Bearer'],
      ['no scheme', ADMIN], ['another scheme', `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`], ['token as the scheme', `${ADMIN} Bearer`],
      ['8 KB of garbage', `Bearer ${'x'.repeat(8192)}`],
    ];
    let refusals = 0;
    for (const [method, path, body] of routes) {
      for (const [what, authorization] of authorizations) {
        const res = await fetch(`${url}${path}`, {
          method, body: body ? JSON.stringify(body) : undefined,
          headers: { ...(authorization !== undefined ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        });
        const text = await res.text();
        expect({ method, path, what, status: res.status }).toEqual({ method, path, what, status: 401 });
        expect(JSON.parse(text)).toMatchObject({ code: 'FEDTSA_ERR_UNAUTHORIZED' });
        refusals++;
      }
    }
    // The same routes answer with the token (the 401s above are the guard, not broken routes); read-only ones only.
    for (const [method, path] of routes.filter(([m]) => m === 'GET')) {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
      await res.arrayBuffer();
      expect([200, 404]).toContain(res.status); // a run not yet started has no cluster models: 404 FEDTSA_ERR_RUN_NOT_FOUND
    }

    const dashboardRefusal = (auth: Json | undefined) => new Promise<string>((resolve) => {
      const s = io(`${url}${DASHBOARD_NAMESPACE}`, { ...(auth ? { auth } : {}), transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      s.on('connect_error', (err: Error & { data?: { code?: string } }) => { s.close(); resolve(err.data?.code ?? `uncoded: ${err.message}`); });
      s.on('connect', () => { s.close(); resolve('connected'); });
    });
    expect(await dashboardRefusal(undefined)).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({})).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: 'not-the-admin-token' })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: `${ADMIN}x` })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: 12345 })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ token: ADMIN })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: ADMIN })).toBe('connected');

    expect(await state()).toEqual(before);
    console.log(`[drill 3] ${refusals} unauthorized requests refused with 401 FEDTSA_ERR_UNAUTHORIZED; 6 dashboard handshakes refused`);
  }, 60_000);
});
