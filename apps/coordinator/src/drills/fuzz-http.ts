/**
 * The fuzz drill's HTTP phase: 2,500 requests with random methods, paths, bodies and tokens, twelve
 * at a time. Returns every answer's status and code, and the answers the drill must never see.
 */
import type { Rng } from '@fedtsa/core/rng';
import { isErrorCode } from '@fedtsa/protocol/errors';
import { ADMIN } from '../test-helpers.ts';
import { int, mutate, pick, randomBytes, randomString, randomValue } from './fuzz-inputs.ts';
import { Tally, type FuzzLog } from './fuzz-log.ts';

export async function fuzzHttp(url: string, rng: Rng, log: FuzzLog, id: string) {
  const t0 = Date.now();
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
      log.sent++;
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
  log.timings.http = Date.now() - t0;
  return { http, uncoded, serverErrors, internalFor4xx, networkErrors };
}
