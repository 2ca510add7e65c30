/**
 * Sybil friction against real coordinators (port 0, real sockets): one-use device tokens, the cap
 * on new identities per address, pruning departed clients from the live lists, and one demo
 * shard per client and round.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { DashboardRun } from '@fedtsa/protocol/dashboard';
import type { Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE, type DemoShard, type Welcome } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import type { Coordinator } from './app.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator, until } from './test-helpers.ts';

type Json = Record<string, unknown>;
const sockets: Socket[] = [];

async function api<T = Json>(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as T };
}

function join_(url: string, auth: Json, localAddress?: string): Socket {
  const s = io(`${url}${CLIENT_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION, ...auth }, transports: ['websocket'], reconnection: false, forceNew: true, ...(localAddress ? { localAddress } : {}),
  });
  sockets.push(s);
  return s;
}

/** The welcome, or the refusal's code (and message). */
function outcome(s: Socket): Promise<{ welcome?: Welcome; code?: string; message?: string }> {
  return new Promise((resolve) => {
    s.once('welcome', (welcome: Welcome) => resolve({ welcome }));
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve({ code: err.data?.code ?? 'none', message: err.message }));
  });
}

const closed = (s: Socket) => new Promise<void>((resolve) => { if (s.disconnected) resolve(); else s.once('disconnect', () => resolve()); });

/** Clients go first: a socket the server drops at its close would schedule a dashboard push after the store closed. */
async function closeAll(coordinator: Coordinator | undefined): Promise<void> {
  for (const s of sockets.splice(0)) s.close();
  if (coordinator) await until(() => coordinator.io.of(CLIENT_NAMESPACE).sockets.size === 0, 10_000, 'the clients to disconnect');
  await coordinator?.close();
}

describe('device tokens, live client lists and demo shards', () => {
  let coordinator: Coordinator;
  let url: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-sybil-'));
  const GRACE_MS = 1500;

  beforeAll(async () => {
    ({ coordinator, url } = await startCoordinator({ dataDir, clientGraceMs: GRACE_MS }));
  }, 60_000);
  afterAll(() => closeAll(coordinator));

  it('a device token creates one identity, which resumes with its id and secret; used, revoked, unknown and shared tokens are refused', async () => {
    const run = (await api(url, 'POST', '/api/runs', { name: 'tokens', settings: { ...FAST_SETTINGS, joinMode: 'device-tokens' } })).body as { id: string; joinToken: string };
    for (const bad of [{ count: 0 }, { count: 1001 }, { count: '5' }, { count: 2, extra: 1 }, { label: 'x' }]) {
      expect((await api(url, 'POST', `/api/runs/${run.id}/device-tokens`, bad)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await api(url, 'POST', '/api/runs/run-nope/device-tokens', { count: 1 })).status).toBe(404);
    const created = await api(url, 'POST', `/api/runs/${run.id}/device-tokens`, { count: 3, label: 'lab A' });
    expect(created.status).toBe(201);
    const tokens = (created.body.tokens as { token: string; id: string; status: string; label: string }[]);
    expect(tokens.map((t) => [t.status, t.label])).toEqual([['unused', 'lab A'], ['unused', 'lab A'], ['unused', 'lab A']]);
    const [first, second, third] = tokens as [typeof tokens[0], typeof tokens[0], typeof tokens[0]];

    const joined = await outcome(join_(url, { runId: run.id, joinToken: first.token }));
    expect(joined.welcome?.resumed).toBe(false);
    const { clientId, clientSecret } = joined.welcome!;
    const listed = (await api(url, 'GET', `/api/runs/${run.id}/device-tokens`)).body as unknown as { id: string; status: string; usedBy: string | null }[];
    expect(listed.find((t) => t.id === first.id)).toMatchObject({ status: 'used', usedBy: clientId });
    expect(listed.filter((t) => t.status === 'unused')).toHaveLength(2);

    sockets.at(-1)!.close();
    const resumed = await outcome(join_(url, { runId: run.id, joinToken: first.token, clientId, clientSecret }));
    expect(resumed.welcome).toMatchObject({ clientId, resumed: true });
    expect((await outcome(join_(url, { runId: run.id, joinToken: first.token }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');
    expect((await outcome(join_(url, { runId: run.id, joinToken: run.joinToken }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');
    expect((await outcome(join_(url, { runId: run.id, joinToken: 'not-a-token' }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');
    // Another device's unused token does not resume this identity.
    expect((await outcome(join_(url, { runId: run.id, joinToken: third.token, clientId, clientSecret }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');

    const revoked = await api(url, 'DELETE', `/api/runs/${run.id}/device-tokens/${second.id}`);
    expect(revoked.body).toMatchObject({ id: second.id, status: 'revoked' });
    expect((await api(url, 'DELETE', `/api/runs/${run.id}/device-tokens/0123456789abcdef`)).status).toBe(404);
    expect((await outcome(join_(url, { runId: run.id, joinToken: second.token }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');
    // The last token still works (the refusals above are not a broken join).
    expect((await outcome(join_(url, { runId: run.id, joinToken: third.token }))).welcome?.resumed).toBe(false);
    expect(((await api<{ status: string }[]>(url, 'GET', `/api/runs/${run.id}/device-tokens`)).body).map((t) => t.status).sort())
      .toEqual(['revoked', 'used', 'used']);

    // In the default 'shared' mode the run's token still joins, and so does a device token.
    const shared = (await api(url, 'POST', '/api/runs', { name: 'shared', settings: FAST_SETTINGS })).body as { id: string; joinToken: string };
    const sharedTokens = (await api(url, 'POST', `/api/runs/${shared.id}/device-tokens`, { count: 1 })).body.tokens as { token: string }[];
    expect((await outcome(join_(url, { runId: shared.id, joinToken: shared.joinToken }))).welcome).toBeDefined();
    expect((await outcome(join_(url, { runId: shared.id, joinToken: sharedTokens[0]!.token }))).welcome).toBeDefined();
    // A token of one run does not open another.
    expect((await outcome(join_(url, { runId: run.id, joinToken: sharedTokens[0]!.token }))).code).toBe('FEDTSA_ERR_BAD_TOKEN');

    // Only hashes are stored: no token appears in the database files, while its hash does.
    const files = readdirSync(dataDir).filter((f) => f.startsWith('fedtsa.sqlite')).map((f) => readFileSync(join(dataDir, f)).toString('latin1')).join('');
    for (const t of [...tokens, ...sharedTokens]) expect(files.includes(t.token)).toBe(false);
    expect(files.includes(createHash('sha256').update(first.token).digest('hex'))).toBe(true);
    expect(coordinator.store.listDeviceTokens(run.id).map((t) => t.tokenHash)).not.toContain(first.token);
  });

  it('200 clients that join and leave drop out of the live lists after the grace; ?all=true still lists them', async () => {
    const run = (await api(url, 'POST', '/api/runs', { name: 'churn', settings: FAST_SETTINGS })).body as { id: string; joinToken: string };
    const stayer = join_(url, { runId: run.id, joinToken: run.joinToken });
    const stayerId = (await outcome(stayer)).welcome!.clientId;
    const sizeOf = async (path: string) => (await api(url, 'GET', path)).text.length;
    const before = await sizeOf('/api/runs');
    for (let i = 0; i < 200; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const s = join_(url, { runId: run.id, joinToken: run.joinToken });
        expect((await outcome(s)).welcome).toBeDefined();
        // Half leave politely, half just vanish.
        if ((i + j) % 2 === 0) s.emit('leave');
        else s.close();
        await closed(s);
      }));
    }
    const during = await sizeOf('/api/runs');
    const liveCount = async () => ((await api<unknown[]>(url, 'GET', `/api/runs/${run.id}/clients`)).body).length;
    await until(async () => (await liveCount()) === 1, 30_000, 'the departed clients to leave the live list');
    const after = await sizeOf('/api/runs');
    console.log(`[sybil] GET /api/runs: ${before} bytes before, ${during} with 200 departed clients inside the grace, ${after} after it`);
    expect(during - before).toBeGreaterThan(200 * 100);
    expect(after - before).toBeLessThan(2_000);
    expect(((await api(url, 'GET', `/api/runs/${run.id}`)).body.clients as { id: string }[]).map((c) => c.id)).toEqual([stayerId]);

    const all = (await api(url, 'GET', `/api/runs/${run.id}/clients?all=true`)).body as unknown as { id: string; status: string }[];
    expect(all).toHaveLength(201);
    expect(new Set(all.map((c) => c.status))).toEqual(new Set(['connected', 'left', 'disconnected']));
    expect(((await api<unknown[]>(url, 'GET', `/api/runs/${run.id}/clients?all=false`)).body)).toHaveLength(1);
    for (const q of ['all=yes', 'all=1', 'all=TRUE', 'all=true&all=true', 'everything=true']) {
      expect((await api(url, 'GET', `/api/runs/${run.id}/clients?${q}`)).status, q).toBe(400);
    }

    // The dashboard's push lists the live clients only.
    const dash = io(`${url}${DASHBOARD_NAMESPACE}`, { auth: { adminToken: ADMIN }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(dash);
    const pushed = await new Promise<DashboardRun>((resolve) => dash.on('run', (r: DashboardRun) => { if (r.id === run.id) resolve(r); }));
    expect(pushed.clients.map((c) => c.id)).toEqual([stayerId]);
    expect(JSON.stringify(pushed).length).toBeLessThan(after);
  }, 60_000);

  it('serves a demo shard once per client and round: a second request, even after a reconnect, is refused until the next round', async () => {
    const run = (await api(url, 'POST', '/api/runs', { name: 'shards', settings: { ...FAST_SETTINGS, minClientsToStart: 1, minClientsPerCluster: 1 } })).body as { id: string; joinToken: string };
    const ask = (s: Socket) => s.timeout(10_000).emitWithAck('demo-shard', {}) as Promise<Ack<DemoShard>>;
    const s1 = join_(url, { runId: run.id, joinToken: run.joinToken });
    const { clientId, clientSecret } = (await outcome(s1)).welcome!;
    // Five at once before round 1: exactly one is served.
    const burst = await Promise.all(Array.from({ length: 5 }, () => ask(s1)));
    expect(burst.filter((a) => a.ok)).toHaveLength(1);
    const served = burst.find((a) => a.ok) as { ok: true; value: DemoShard };
    expect(served.value.count).toBeGreaterThan(0);
    const refused = burst.find((a) => !a.ok) as { ok: false; error: { code: string; message: string } };
    expect(refused.error.code).toBe('FEDTSA_ERR_RATE_LIMITED');
    expect(refused.error.message).toContain('once round 1 starts');

    s1.close();
    const s2 = join_(url, { runId: run.id, joinToken: run.joinToken, clientId, clientSecret });
    expect((await outcome(s2)).welcome?.resumed).toBe(true);
    expect((await ask(s2)).ok).toBe(false);
    // Another identity gets its own.
    const other = join_(url, { runId: run.id, joinToken: run.joinToken });
    await outcome(other);
    expect((await ask(other)).ok).toBe(true);
    other.close();

    // Round 1 opens: the client may ask once more.
    expect((await api(url, 'POST', `/api/runs/${run.id}/start`)).status).toBe(200);
    expect(((await s2.timeout(10_000).emitWithAck('capability', { samplesPerSec: 300, backend: 'node' })) as Ack<unknown>).ok).toBe(true);
    await until(() => coordinator.registry.get(run.id)!.currentRound === 1, 20_000, 'round 1 to open');
    expect((await ask(s2)).ok).toBe(true);
    const again = await ask(s2);
    expect(again.ok ? 'served' : again.error.message).toContain('once round 2 starts');
  }, 60_000);
});

describe('new identities per address', () => {
  let coordinator: Coordinator;
  let url: string;
  const LIMIT = 3;

  beforeAll(async () => {
    ({ coordinator, url } = await startCoordinator({ identitiesPerMinute: LIMIT }));
  }, 60_000);
  afterAll(() => closeAll(coordinator));

  it(`refuses the ${LIMIT + 1}th new identity from one address within a minute, while a resume and another address still join`, async () => {
    const run = (await api(url, 'POST', '/api/runs', { name: 'cap', settings: FAST_SETTINGS })).body as { id: string; joinToken: string };
    const auth = { runId: run.id, joinToken: run.joinToken };
    const welcomes: Welcome[] = [];
    for (let i = 0; i < LIMIT; i++) welcomes.push((await outcome(join_(url, auth))).welcome!);
    expect(welcomes.every((w) => w !== undefined)).toBe(true);
    const over = await outcome(join_(url, auth));
    expect(over.code).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    expect(over.message).toMatch(/retry in \d+ s/);
    // Refusals are not identities: a failed handshake with a bad token does not count, and a resume is no new identity.
    const { clientId, clientSecret } = welcomes[0]!;
    expect((await outcome(join_(url, { ...auth, clientId, clientSecret }))).welcome).toMatchObject({ clientId, resumed: true });
    // The cap is per address: 127.0.0.2 is another loopback address.
    expect((await outcome(join_(url, auth, '127.0.0.2'))).welcome?.resumed).toBe(false);
    expect((await outcome(join_(url, auth))).code).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    expect(coordinator.store.listClients(run.id)).toHaveLength(LIMIT + 1);
  });
});
