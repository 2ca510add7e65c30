/**
 * Fault drill 2 against a real coordinator (port 0, real Fashion-MNIST, real sockets): 10,000
 * random and malformed inputs (socket events, raw packets, handshakes, HTTP) while a run holds
 * round 2 open; every refusal is coded, the saved models are byte-identical, the server still
 * serves clients. Everything random comes from a seeded PRNG, so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@fedtsa/core/rng';
import { isErrorCode, type Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { until } from '../test-helpers.ts';
import { echoUpdate, sha, useDrillHarness } from './drill-client.ts';
import { fuzzHttp } from './fuzz-http.ts';
import { FuzzLog } from './fuzz-log.ts';
import { modelSnapshot, openRoundTwo } from './fuzz-run.ts';
import { fuzzEvents, fuzzHandshakes, fuzzRawPackets } from './fuzz-sockets.ts';

const harness = useDrillHarness();

describe('fault drills', () => {
  it('drill 2: 10,000 random and malformed inputs are refused with codes; models stay byte-identical; the server still serves', async () => {
    const SEED = 20_250_601;
    const rng = createRng(SEED);
    const { coordinator, url, api } = harness();
    // An honest client, and P: a raw client that echoes its task (round 1) and then holds round 2 open.
    const run = await openRoundTwo(harness());
    const { id, joinToken, engine, p, pSamples, task2 } = run;

    const snapshot = () => modelSnapshot(harness(), run);
    const before = await snapshot();
    expect(before).toMatchObject({ state: 'running', completedRound: 1, currentRound: 2 });
    expect(before.served).toEqual(before.live);

    const level = coordinator.app.log.level;
    coordinator.app.log.level = 'silent'; // thousands of refusals would flood the output
    const started = Date.now();
    const log = new FuzzLog();

    // (a) 200 random handshakes on both namespaces: every refusal carries a code.
    const handshakes = await fuzzHandshakes(harness(), rng, log, run);
    // (b) 7,000 socket events: P (selected this round) sends 1,000 garbage updates, six fuzzers 6,000 mixed events.
    const { fuzzers, pUpdates } = await fuzzEvents(harness(), rng, log, run);
    // (c) 300 raw socket.io packets, written straight to the transport; many make the server drop the connection.
    const rawOutcomes = await fuzzRawPackets(harness(), rng, log, run);
    // (d) 2,500 HTTP requests: random methods, paths, bodies and tokens.
    const { http, uncoded, serverErrors, internalFor4xx, networkErrors } = await fuzzHttp(url, rng, log, id);
    const { sent, timings, acks, refusedEvents, malformedAnswers, acceptedGarbage } = log;
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
    const newcomer = harness().virtualClient({ runId: id, joinToken, samplesPerSec: 500, label: 'newcomer' });
    await until(() => (coordinator.store.getClient(id, newcomer.welcome?.clientId ?? '')?.samplesPerSec ?? 0) > 0, 20_000, 'the newcomer to join');
    await until(() => [...coordinator.io.of(CLIENT_NAMESPACE).sockets.values()].filter((s) => s.data.runId === id).length === 3, 10_000, 'the fuzzers to be gone');
    run.pEchoes = true;
    expect(((await p.timeout(5000).emitWithAck('update', echoUpdate(task2, pSamples))) as Ack<unknown>).ok).toBe(true);
    await until(() => engine.record.state === 'completed', 40_000, 'the run to complete');
    const rounds = coordinator.store.listRounds(id);
    expect(rounds.map((r) => [r.round, r.participants, r.updatesAccepted])).toEqual([[1, 2, 2], [2, 2, 2], [3, 3, 3]]);
    expect(rounds[1]!.updatesRefused).toBe(round2Refused);
    expect(newcomer.acceptedRounds).toEqual([3]);
    expect(coordinator.store.listRounds(id)[0]!.clusters.map((c) => sha(coordinator.store.readModelBytes(id, 1, c.clusterIndex)!))).toEqual(before.saved);
  }, 90_000);
});
