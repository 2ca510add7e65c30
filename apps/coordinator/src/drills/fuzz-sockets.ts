/**
 * The fuzz drill's socket phases: random handshakes, random events (P's garbage updates for the
 * round it holds open, six fuzzers' mixed events) and raw socket.io packets written straight to
 * the transport. Each tallies what came back in the shared FuzzLog.
 */
import { io, type Socket } from 'socket.io-client';
import { modelManifest } from '@fedtsa/core/architecture';
import type { Rng } from '@fedtsa/core/rng';
import { isErrorCode } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { SPEC } from '../app.ts';
import { ADMIN } from '../test-helpers.ts';
import { welcomed, type DrillHarness, type Json } from './drill-client.ts';
import {
  CLIENT_RESERVED, mutate, pick, randomBytes, randomCapability, randomEventName, randomHeartbeat, randomString, randomUpdate, randomValue, type UpdateTarget,
} from './fuzz-inputs.ts';
import { isWellFormedAck, Tally, type FuzzLog } from './fuzz-log.ts';
import type { FuzzRun } from './fuzz-run.ts';

/** 200 random handshakes on both namespaces, ten at a time; returns how each ended (a code, 'connected' or what went wrong). */
export async function fuzzHandshakes(drill: DrillHarness, rng: Rng, log: FuzzLog, run: FuzzRun): Promise<Tally> {
  const { coordinator, url } = drill;
  const { id, joinToken } = run;
  const t0 = Date.now();
  const handshakes = new Tally();
  const known = coordinator.store.listClients(id)[0]!;
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 10 }, async () => {
      log.sent++;
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
  log.timings.handshakes = Date.now() - t0;
  return handshakes;
}

/**
 * 7,000 socket events: P (selected this round) sends 1,000 garbage updates, six fuzzers 6,000 mixed
 * events. Waits for every answer owed after each batch; returns the fuzzers and the codes of P's updates.
 */
export async function fuzzEvents(drill: DrillHarness, rng: Rng, log: FuzzLog, run: FuzzRun): Promise<{ fuzzers: Socket[]; pUpdates: Tally }> {
  const { id, joinToken, p, task2 } = run;
  const { onRefused, record } = log;
  const t0 = Date.now();
  p.on('refused', onRefused);
  const fuzzers: Socket[] = [];
  for (let i = 0; i < 6; i++) {
    const s = drill.rawClient(id, joinToken);
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
    log.sent++;
  };
  const pAnswer = (res: unknown) => {
    record('update')(res);
    pUpdates.add(isWellFormedAck(res) ? (res.ok ? 'ok' : res.error.code) : 'malformed');
  };
  for (let batch = 0; batch < 50; batch++) {
    // P: 1,000 updates for the open round, each with an ack, so every refusal is counted.
    for (let i = 0; i < 20; i++, log.sent++) p.emit('update', randomUpdate(rng, target, true), owe('p-update', pAnswer));
    for (const s of fuzzers) for (let i = 0; i < 20; i++) emitRandom(s);
    await allAnswered(`batch ${batch}`);
  }
  log.timings.events = Date.now() - t0;
  return { fuzzers, pUpdates };
}

/** 300 raw socket.io packets, written straight to the transport; many make the server drop the connection. Returns whether each kept it. */
export async function fuzzRawPackets(drill: DrillHarness, rng: Rng, log: FuzzLog, run: FuzzRun): Promise<Tally> {
  const { id, joinToken } = run;
  const t0 = Date.now();
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
      live = drill.rawClient(id, joinToken);
      liveDead = false;
      const current = live;
      current.on('disconnect', () => { if (live === current) liveDead = true; });
      current.on('refused', log.onRefused);
      await welcomed(current);
    }
    const packets = pick(rng, rawPackets)();
    for (const pkt of packets) live.io.engine.write(pkt as string);
    log.sent++;
    await new Promise((r) => setTimeout(r, 5));
    rawOutcomes.add(liveDead ? 'connection dropped' : 'connection kept');
  }
  live?.close();
  log.timings.rawPackets = Date.now() - t0;
  return rawOutcomes;
}
