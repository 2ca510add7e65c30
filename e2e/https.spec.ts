/**
 * Phones on a LAN reach the coordinator by a name or address that is not loopback, so only
 * HTTPS gives them a secure context. Chromium maps fedtsa.test to 127.0.0.1 (as a LAN name
 * would map to the coordinator) and accepts the test certificates as a phone's user does after
 * the warning. Over https:// the page has WebGPU and crypto.subtle and trains on WebGPU; over
 * http:// it explains what it lacks and trains on wasm; the self-signed certificate made at first
 * start is the one served, reported to the dashboard beside the QR code, and reused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect, test, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../playwright.config.ts';
import { ADMIN, freePort, spawnCoordinator, startCoordinator, type SpawnedCoordinator } from './coordinator-process.ts';

const HOST = 'fedtsa.test';
test.use({
  launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${HOST} 127.0.0.1`] },
  ignoreHTTPSErrors: true,
});

const SETTINGS = { localEpochs: 1, batchSize: 32, learningRate: 0.05, roundDeadlineMs: 120_000, minClientsToStart: 1, minClientsPerCluster: 1, rounds: 1 };
const COORDINATOR_ENV = { FEDTSA_ADMIN_TOKEN: ADMIN, FEDTSA_GENERATOR_DIR: '/nonexistent' };

interface PageState { backend?: string; rounds: { round: number; accepted: boolean }[]; errors: string[]; context: { secure: boolean; missing: string[] } }
const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __fedtsa: PageState }).__fedtsa);
const features = (page: Page) => page.evaluate(() => ({
  secure: isSecureContext, gpu: (navigator as { gpu?: unknown }).gpu !== undefined, subtle: globalThis.crypto?.subtle !== undefined, wakeLock: 'wakeLock' in navigator,
}));

/** A certificate for fedtsa.test (and 127.0.0.1, for the test's own API calls), made with openssl as an operator would. */
function testCertificate(): { certFile: string; keyFile: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedtsa-e2e-cert-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${HOST}`,
    '-addext', `subjectAltName=DNS:${HOST},IP:127.0.0.1`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

/** The admin API over HTTPS, trusting `ca` only. */
function api<T>(url: string, ca: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, ca, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString('utf8'); });
      res.on('end', () => (res.statusCode !== undefined && res.statusCode < 300 ? resolve(JSON.parse(text) as T) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
const createRun = (url: string, ca: string) =>
  api<{ id: string; joinToken: string }>(url, ca, 'POST', '/api/runs', { name: 'https', settings: { stage2: { enabled: false }, ...SETTINGS }, start: true });

/** The SHA-256 fingerprint of the certificate a TLS server presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function joinAndTrainOneRound(page: Page, link: string): Promise<PageState> {
  await page.goto(link);
  await page.getByRole('button', { name: 'I agree, join' }).click();
  await expect.poll(async () => (await pageState(page)).rounds.length, { timeout: 150_000 }).toBe(1);
  return pageState(page);
}

test('over https:// at a LAN name the page is a secure context with WebGPU and Web Crypto, and trains a round on WebGPU', async ({ page }) => {
  const cert = testCertificate();
  const coordinator = await spawnCoordinator({ https: true, args: ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile], env: COORDINATOR_ENV });
  try {
    const run = await createRun(coordinator.url, cert.cert);
    const origin = `https://${HOST}:${new URL(coordinator.url).port}`;
    await page.goto(`${origin}/?run=${run.id}&token=${run.joinToken}&backend=webgpu`);
    expect(await features(page)).toEqual({ secure: true, gpu: true, subtle: true, wakeLock: true });
    await expect(page.locator('#context-note')).toBeHidden();
    const state = await joinAndTrainOneRound(page, `${origin}/?run=${run.id}&token=${run.joinToken}&backend=webgpu`);
    expect(state.errors).toEqual([]);
    expect(state.backend).toBe('webgpu');
    expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true });
    expect(state.context).toEqual({ secure: true, missing: [] });
  } finally {
    await coordinator.stop();
  }
});

test('over http:// at a LAN name the page explains what it lacks and how to fix it, and trains a round on wasm', async ({ page }) => {
  const coordinator = await startCoordinator();
  try {
    const run = await coordinator.createRun(SETTINGS);
    const link = `http://${HOST}:${new URL(coordinator.url).port}/?run=${run.id}&token=${run.joinToken}&backend=wasm`;
    await page.goto(link);
    expect(await features(page)).toEqual({ secure: false, gpu: false, subtle: false, wakeLock: false });
    const note = page.locator('#context-note');
    await expect(note).toBeVisible();
    await expect(note).toContainText('plain http://');
    await expect(note).toContainText('WebGPU');
    await expect(note).toContainText('screen may turn off');
    await expect(note).toContainText('open the https:// link');
    const state = await joinAndTrainOneRound(page, link);
    expect(state.errors).toEqual([]);
    expect(state.backend).toBe('wasm');
    expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true });
    expect(state.context).toEqual({ secure: false, missing: ['webgpu', 'wake-lock', 'subtle-crypto'] });
  } finally {
    await coordinator.stop();
  }
});

test('--tls self-signed: the certificate made at first start is served, printed and shown beside the QR code, its join link trains, and a restart reuses it', async ({ browser }) => {
  const port = await freePort();
  const publicUrl = `https://${HOST}:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-e2e-self-signed-'));
  const start = () => spawnCoordinator({ https: true, port, dataDir, captureLog: true, args: ['--tls', 'self-signed', '--public-url', publicUrl, '--log-level', 'info'], env: COORDINATOR_ENV });
  /** The fingerprint the coordinator printed (its stdout is a pipe, so JSON lines) and whether it made or reused the certificate. */
  const printed = (c: SpawnedCoordinator) => {
    const entries = c.log.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { fingerprint256?: string; tlsSource?: string });
    return { fingerprint256: entries.find((e) => e.fingerprint256)?.fingerprint256, source: entries.find((e) => e.tlsSource)?.tlsSource };
  };
  let coordinator = await start();
  let fingerprint: string;
  try {
    await expect.poll(() => printed(coordinator).fingerprint256).toBeDefined();
    fingerprint = printed(coordinator).fingerprint256 as string;
    expect(printed(coordinator).source).toBe('self-signed-new');
    expect(await servedFingerprint(port)).toBe(fingerprint);
    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    expect(await api(coordinator.url, ca, 'GET', '/api/server-info')).toEqual({ publicUrl, tls: { fingerprint256: fingerprint, selfSigned: true } });

    const run = await createRun(coordinator.url, ca);
    const context = await browser.newContext();
    const dashboard = await context.newPage();
    await dashboard.goto(`${publicUrl}/dashboard/#token=${ADMIN}`);
    await expect(dashboard.locator('#tls-fingerprint')).toContainText(fingerprint);
    const joinLink = `${publicUrl}/?run=${run.id}&token=${run.joinToken}`;
    await expect(dashboard.locator('#join-link')).toHaveValue(joinLink);
    const phone = await context.newPage();
    const state = await joinAndTrainOneRound(phone, joinLink);
    expect(state.rounds[0]).toMatchObject({ round: 1, accepted: true });
    expect(state.context.secure).toBe(true);
    await context.close();
  } finally {
    await coordinator.stop();
  }
  coordinator = await start();
  try {
    await expect.poll(() => printed(coordinator).fingerprint256).toBe(fingerprint);
    expect(printed(coordinator).source).toBe('self-signed-reused');
    expect(await servedFingerprint(port)).toBe(fingerprint);
  } finally {
    await coordinator.stop();
  }
});
