/**
 * The coordinator behind deploy/nginx.conf, run by Debian's nginx as it is (only its ports and
 * certificate paths changed). Clients reach nginx from different loopback addresses (127.0.0.2,
 * 127.0.0.3, ...), as LAN machines would; the coordinator sees only nginx's 127.0.0.1. With
 * --trust-proxy 127.0.0.1 the identity cap, the HTTP rate limit and the request logs are keyed on
 * the address nginx forwards, and a client's own X-Forwarded-For changes nothing; without it
 * every client is nginx, and one client's use counts against all.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect, test } from '@playwright/test';
import { io, type Socket } from 'socket.io-client';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { ADMIN, freePort, spawnCoordinator, type SpawnedCoordinator } from './coordinator-process.ts';

const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

interface Proxied {
  coordinator: SpawnedCoordinator;
  nginx: ChildProcess;
  /** nginx's https:// address. */
  url: string;
  cert: string;
  stop(): Promise<void>;
}

/** A certificate for 127.0.0.1, the address the tests reach nginx at. */
function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/** deploy/nginx.conf with its ports and certificate paths replaced, each exactly where the example has it. */
function siteConfig(listenPort: number, upstreamPort: number, cert: { certFile: string; keyFile: string }): string {
  let site = readFileSync('deploy/nginx.conf', 'utf8');
  const swap = (from: string, to: string) => {
    expect(site.split(from).length - 1, `deploy/nginx.conf has '${from}' once`).toBe(1);
    site = site.replace(from, to);
  };
  swap('listen 443 ssl;', `listen 127.0.0.1:${listenPort} ssl;`);
  swap('server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
  swap('/etc/ssl/fedtsa/fullchain.pem', cert.certFile);
  swap('/etc/ssl/fedtsa/privkey.pem', cert.keyFile);
  return site;
}

/** A coordinator with `args`, and nginx in front of it running the example site, in the foreground, from a folder of its own. */
async function startBehindNginx(args: string[]): Promise<Proxied> {
  const dir = mkdtempSync(join(tmpdir(), 'fedtsa-nginx-'));
  const cert = makeCertificate(dir);
  const coordinator = await spawnCoordinator({ args: ['--log-level', 'info', ...args], env: { FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent' }, captureLog: true });
  const listenPort = await freePort();
  writeFileSync(join(dir, 'site.conf'), siteConfig(listenPort, Number(new URL(coordinator.url).port), cert));
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
  // As root (CI), nginx's workers would switch to nobody, who cannot enter this 0700 folder.
  writeFileSync(join(dir, 'nginx.conf'), `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`);
  const nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr?.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const spawnError = new Promise<Error>((resolve) => nginx.once('error', resolve));
  const deadline = Date.now() + 20_000;
  while (!(await tlsAnswers(listenPort))) {
    if (nginx.exitCode !== null || Date.now() > deadline) {
      await coordinator.stop();
      nginx.kill('SIGKILL');
      throw new Error(`nginx did not start (apt-get install nginx-light; scripts/setup does): ${stderr}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 100)), spawnError.then((e) => { throw new Error(`cannot run ${NGINX}: ${e.message} (scripts/setup installs nginx-light)`); })]);
  }
  return {
    coordinator, nginx, url: `https://127.0.0.1:${listenPort}`, cert: readFileSync(cert.certFile, 'utf8'),
    async stop() {
      const exited = new Promise((r) => nginx.once('exit', r));
      if (nginx.exitCode === null) nginx.kill('SIGTERM');
      await exited;
      await coordinator.stop();
    },
  };
}

function tlsAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** An HTTPS request through nginx from `localAddress`, with optional extra headers. */
function get(p: Proxied, path: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${p.url}${path}`, { ca: p.cert, localAddress, headers: { authorization: `Bearer ${ADMIN}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function createRun(p: Proxied): Promise<{ id: string; joinToken: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${p.url}/api/runs`, { method: 'POST', ca: p.cert, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve(JSON.parse(body) as { id: string; joinToken: string }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ name: 'proxy', settings: { minClientsToStart: 100, stage2: { enabled: false } }, start: true }));
  });
}

const sockets: Socket[] = [];
test.afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });

/** A new identity's websocket handshake through nginx from `localAddress`: 'welcome', or the refusal's code. */
function join_(p: Proxied, run: { id: string; joinToken: string }, localAddress: string, headers: Record<string, string> = {}): Promise<string> {
  const s = io(`${p.url}${CLIENT_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION, runId: run.id, joinToken: run.joinToken }, transports: ['websocket'], reconnection: false, forceNew: true,
    ca: p.cert, localAddress, extraHeaders: headers,
  } as Parameters<typeof io>[1]);
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('welcome', () => resolve('welcome'));
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? `connect_error: ${err.message}`));
  });
}

const remaining = async (p: Proxied, localAddress: string) => Number((await get(p, '/api/health', localAddress)).headers['x-ratelimit-remaining']);

test('with --trust-proxy 127.0.0.1 behind deploy/nginx.conf, the identity cap, the rate limit and the logs see each client\'s own address', async () => {
  const p = await startBehindNginx(['--trust-proxy', '127.0.0.1', '--identities-per-minute', '2']);
  try {
    const run = await createRun(p);
    expect(await join_(p, run, '127.0.0.2')).toBe('welcome');
    expect(await join_(p, run, '127.0.0.2')).toBe('welcome');
    expect(await join_(p, run, '127.0.0.2')).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    // nginx replaces a client's own X-Forwarded-For: it cannot claim another address to escape the cap.
    expect(await join_(p, run, '127.0.0.2', { 'x-forwarded-for': '203.0.113.9' })).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    // Another machine behind the same proxy has its own allowance.
    expect(await join_(p, run, '127.0.0.3')).toBe('welcome');

    const first = await remaining(p, '127.0.0.4');
    expect(await remaining(p, '127.0.0.4')).toBe(first - 1);
    expect(await remaining(p, '127.0.0.5')).toBe(first);
    const spoofed = Number((await get(p, '/api/health', '127.0.0.4', { 'x-forwarded-for': '203.0.113.9' })).headers['x-ratelimit-remaining']);
    expect(spoofed).toBe(first - 2);

    // The request logs (JSON lines: stdout is a pipe) name the client, not nginx (127.0.0.1 is the start-up probe's and createRun's own address).
    const remotes = p.coordinator.log.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { req?: { remoteAddress?: string } }).req?.remoteAddress).filter(Boolean);
    expect(remotes).toEqual(expect.arrayContaining(['127.0.0.4', '127.0.0.5']));
    expect(remotes).not.toContain('203.0.113.9');
  } finally {
    await p.stop();
  }
});

test('without --trust-proxy every client behind nginx is nginx: one client\'s identities and requests count against all', async () => {
  const p = await startBehindNginx(['--identities-per-minute', '2']);
  try {
    const run = await createRun(p);
    expect(await join_(p, run, '127.0.0.2')).toBe('welcome');
    expect(await join_(p, run, '127.0.0.2')).toBe('welcome');
    expect(await join_(p, run, '127.0.0.3')).toBe('FEDTSA_ERR_IDENTITY_LIMIT');
    const first = await remaining(p, '127.0.0.4');
    expect(await remaining(p, '127.0.0.5')).toBe(first - 1);
  } finally {
    await p.stop();
  }
});
