/**
 * The coordinator as server.ts serves it (port 0, real TLS, real sockets): HTTPS and wss with its
 * certificate, the admin server-info route, and the client address behind a trusted proxy, the
 * same for the HTTP rate limit (Fastify's request.ip) and the identity cap (socket handshake).
 */
import { request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { buildCoordinator, type Coordinator } from './app.ts';
import { DEFAULT_CONFIG } from './config.ts';
import { testData } from './test-helpers.ts';
import { selfSignedTls, type TlsMaterial } from './tls.ts';

const ADMIN = 'serving-admin';
const PROXY = '127.0.0.1';
let coordinator: Coordinator;
let url: string;
let tls: TlsMaterial;
const sockets: Socket[] = [];

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-serving-'));
  tls = selfSignedTls(join(dataDir, 'tls'), ['localhost', '127.0.0.1']);
  const { train, test } = testData();
  coordinator = await buildCoordinator({
    config: {
      ...DEFAULT_CONFIG, clientDir: '/nonexistent', dashboardDir: '/nonexistent', port: 0, logLevel: 'warn', adminToken: ADMIN, dataDir,
      generatorDir: '/nonexistent', identitiesPerMinute: 1, trustProxy: [PROXY], publicUrl: 'https://fedtsa.test:8443',
    },
    data: { train, test }, demo: { shards: 4, samplesPerShard: 20, alpha: 0.5, seed: 1 }, serving: { tls },
  });
  url = await coordinator.app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await coordinator?.close();
});

/** An HTTPS request that trusts only the coordinator's own certificate, from `localAddress`. */
function get(path: string, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { ca: tls.cert, headers, localAddress }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A new identity's handshake over wss from `localAddress` with the given X-Forwarded-For: welcome, or the refusal's code. */
function join_(run: { id: string; joinToken: string }, forwardedFor: string | undefined, localAddress = '127.0.0.1'): Promise<string> {
  const s = io(`${url}${CLIENT_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION, runId: run.id, joinToken: run.joinToken }, transports: ['websocket'], reconnection: false, forceNew: true,
    ca: tls.cert, localAddress, extraHeaders: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  } as Parameters<typeof io>[1]);
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('welcome', () => resolve('welcome'));
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
  });
}

describe('serving over HTTPS', () => {
  it('serves the certificate it reports, and server-info tells the dashboard its public URL and fingerprint', async () => {
    const served = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: tls.cert, servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(served).toBe(tls.fingerprint256);
    expect((await get('/api/server-info', {})).status).toBe(401);
    const info = await get('/api/server-info', { authorization: `Bearer ${ADMIN}` });
    expect(JSON.parse(info.body)).toEqual({ publicUrl: 'https://fedtsa.test:8443', tls: { fingerprint256: tls.fingerprint256, selfSigned: true } });
  });
});

describe('behind a trusted proxy', () => {
  it('keys the HTTP rate limit on the forwarded address, and only when the peer is the proxy', async () => {
    const remaining = async (forwardedFor: string | undefined, localAddress?: string) =>
      Number((await get('/api/health', forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}, localAddress)).headers['x-ratelimit-remaining']);
    const a1 = await remaining('198.51.100.1');
    expect(await remaining('198.51.100.1')).toBe(a1 - 1);
    // Another client behind the same proxy has its own allowance.
    expect(await remaining('198.51.100.2')).toBe(a1);
    // A peer that is not the proxy (127.0.0.2) cannot choose its address by writing the header.
    const b1 = await remaining('198.51.100.3', '127.0.0.2');
    expect(await remaining('198.51.100.4', '127.0.0.2')).toBe(b1 - 1);
  });

  it('keys the identity cap on the forwarded address, and only when the peer is the proxy', async () => {
    const run = await coordinator.registry.create('serving', { minClientsToStart: 100 }).record;
    expect(await join_(run, '198.51.100.10')).toBe('welcome');
    expect(await join_(run, '198.51.100.10')).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    expect(await join_(run, '198.51.100.11')).toBe('welcome');
    // The cap is per address; 127.0.0.2 is not a trusted proxy, so its header is ignored.
    expect(await join_(run, '198.51.100.12', '127.0.0.2')).toBe('welcome');
    expect(await join_(run, '198.51.100.13', '127.0.0.2')).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
  });
});
