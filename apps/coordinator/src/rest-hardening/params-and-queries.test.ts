/** Strict REST (refusal-client.ts): params parse whole or are refused; query parameters only where a route takes them; device-token routes. */
import { describe, expect, it } from 'vitest';
import { useCoordinator } from '../test-helpers.ts';
import { expectRefusal, refusalClient } from './refusal-client.ts';

const served = useCoordinator();
const { send, runCount, createdRun } = refusalClient(served);

describe('params parse whole or are refused', () => {
  it.each(['1abc', '1.0', '%201', '0x1', '-1', '65', '01', '1e1', '+1'])('cluster %j: 400', async (cluster) => {
    const run = await createdRun();
    for (const file of ['model.json', 'weights.bin']) {
      expectRefusal(await send('GET', `/api/runs/${run.id}/clusters/${cluster}/${file}`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'params.cluster: expected an integer from 0 to 64');
    }
  });

  it('an empty cluster segment is refused with a code', async () => {
    const run = await createdRun();
    const res = await send('GET', `/api/runs/${run.id}/clusters//model.json`);
    expectRefusal(res, res.status === 404 ? 404 : 400, res.status === 404 ? 'FEDTSA_ERR_NOT_FOUND' : 'FEDTSA_ERR_INVALID_PAYLOAD');
  });

  it('a well-formed cluster parses: a run without models yet is 404 FEDTSA_ERR_NOT_FOUND, an unknown run 404 FEDTSA_ERR_RUN_NOT_FOUND', async () => {
    const run = await createdRun();
    expectRefusal(await send('GET', `/api/runs/${run.id}/clusters/0/model.json`), 404, 'FEDTSA_ERR_NOT_FOUND', 'no model for cluster 0 yet');
    expectRefusal(await send('GET', '/api/runs/run-nope/clusters/64/weights.bin'), 404, 'FEDTSA_ERR_RUN_NOT_FOUND', 'run-nope');
  });

  it('a run id over 64 characters is an unknown run (404), not echoed; over 100 no route matches (414)', async () => {
    const long = 'a'.repeat(65);
    for (const path of [`/api/runs/${long}`, `/api/runs/${long}/rounds`, `/api/runs/${long}/metrics.csv`, `/api/runs/${long}/clusters/0/model.json`]) {
      const message = expectRefusal(await send('GET', path), 404, 'FEDTSA_ERR_RUN_NOT_FOUND');
      expect(message).not.toContain(long);
    }
    expectRefusal(await send('POST', `/api/runs/${long}/start`), 404, 'FEDTSA_ERR_RUN_NOT_FOUND');
    for (const [method, path] of [['GET', ''], ['POST', ''], ['POST', '/start'], ['GET', '/clusters/0/model.json']]) {
      expectRefusal(await send(method!, `/api/runs/${'a'.repeat(101)}${path}`), 414, 'FEDTSA_ERR_TOO_LARGE', 'over 100 characters');
    }
  });

  it('an unknown control action: 400 in our words', async () => {
    const run = await createdRun();
    expectRefusal(await send('POST', `/api/runs/${run.id}/delete`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'params.action: expected one of "start", "pause", "resume", "stop"');
  });

  it('a malformed percent-encoding: 400, the path not echoed', async () => {
    const message = expectRefusal(await send('GET', '/api/runs/%ZZ'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'percent-encoding');
    expect(message).not.toContain('%ZZ');
  });
});

describe('query parameters: refused unless the route takes them', () => {
  it('a parameter no route takes: 400 naming it, on every /api route, and the request has no effect', async () => {
    const run = await createdRun();
    const token = ((await send('POST', `/api/runs/${run.id}/device-tokens`, { count: 1 })).json as { tokens: { id: string }[] }).tokens[0]!;
    const routes: [string, string][] = [
      ['GET', '/api/health'], ['GET', '/api/runs'], ['GET', '/api/settings-schema'], ['GET', '/api/process'], ['POST', '/api/runs'],
      ['GET', `/api/runs/${run.id}`], ['POST', `/api/runs/${run.id}/start`], ['GET', `/api/runs/${run.id}/rounds`], ['GET', `/api/runs/${run.id}/clients`],
      ['GET', `/api/runs/${run.id}/metrics`], ['GET', `/api/runs/${run.id}/metrics.csv`], ['GET', `/api/runs/${run.id}/clusters/0/model.json`],
      ['GET', `/api/runs/${run.id}/clusters/0/weights.bin`], ['GET', `/api/runs/${run.id}/device-tokens`], ['POST', `/api/runs/${run.id}/device-tokens`],
      ['DELETE', `/api/runs/${run.id}/device-tokens/${token.id}`],
    ];
    const before = runCount();
    for (const [method, path] of routes) {
      const body = method === 'POST' && path.endsWith('device-tokens') ? { count: 1 } : undefined;
      expectRefusal(await send(method, `${path}?verbose=1`, body), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.verbose: unknown parameter');
    }
    expect(runCount()).toBe(before);
    expect(served().coordinator.registry.get(run.id)?.record.state).toBe('created');
    expect(served().coordinator.store.listDeviceTokens(run.id).map((t) => t.revokedAt)).toEqual([null]);
  });

  it('the clients list takes all=true|false, once; a misspelling is refused, not read as the default', async () => {
    const run = await createdRun();
    for (const q of ['all=true', 'all=false', '']) expect((await send('GET', `/api/runs/${run.id}/clients?${q}`)).status, q).toBe(200);
    expectRefusal(await send('GET', `/api/runs/${run.id}/clients?al=true`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.al: unknown parameter');
    for (const q of ['all=yes', 'all=1', 'all=TRUE', 'all=', 'all']) {
      expectRefusal(await send('GET', `/api/runs/${run.id}/clients?${q}`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.all: expected one of "true", "false"');
    }
    expectRefusal(await send('GET', `/api/runs/${run.id}/clients?all=true&all=true`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.all: given more than once');
  });

  it("/api/process takes gc=1 only", async () => {
    const res = await send('GET', '/api/process?gc=1');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ gcCollected: expect.any(Boolean) as boolean });
    for (const q of ['gc=true', 'gc=0', 'gc=', 'gc=yes']) expectRefusal(await send('GET', `/api/process?${q}`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.gc: expected "1"');
    expectRefusal(await send('GET', '/api/process?gc=1&gc=1'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.gc: given more than once');
  });

  it('what was sent is not echoed beyond a short name: a long name is cut, a value never shown', async () => {
    const long = 'p'.repeat(2000);
    const message = expectRefusal(await send('GET', `/api/runs?${long}=1`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', `query.${'p'.repeat(40)}…: unknown parameter`);
    expect(message.length).toBeLessThan(200);
    const value = 'v'.repeat(300);
    expect(expectRefusal(await send('GET', `/api/process?gc=${value}`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD')).not.toContain('vvv');
    expectRefusal(await send('GET', '/api/runs?a%2Fb=1'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.a/b: unknown parameter');
    expectRefusal(await send('GET', '/api/runs?=1'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query: a parameter without a name');
    expectRefusal(await send('GET', '/api/runs?__proto__=1'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'query.__proto__: unknown parameter');
  });

  it('the admin check comes first, and an unknown route stays 404', async () => {
    const res = await fetch(`${served().url}/api/runs?verbose=1`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expectRefusal(await send('GET', '/api/nope?verbose=1'), 404, 'FEDTSA_ERR_NOT_FOUND');
  });
});

describe('device tokens: refusals in our words; an unknown or over-long run id is 404', () => {
  it.each([
    ['a string count', { count: '5' }, 'body.count: expected an integer from 1 to 1000'],
    ['a count out of range', { count: 1001 }, 'body.count: expected an integer from 1 to 1000'],
    ['a fractional count', { count: 1.5 }, 'body.count: expected an integer from 1 to 1000'],
    ['no count', { label: 'x' }, 'body.count: required'],
    ['an unknown field', { count: 2, extra: 1 }, 'body.extra: unknown field'],
    ['a long label', { count: 1, label: 'x'.repeat(201) }, 'body.label: expected a string of at most 200 characters'],
    ['no body', undefined, 'body: expected an object'],
  ])('%s: 400 naming the field, no token minted', async (_what, body, mentions) => {
    const run = await createdRun();
    expectRefusal(await send('POST', `/api/runs/${run.id}/device-tokens`, body), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', mentions);
    expect(served().coordinator.store.listDeviceTokens(run.id)).toEqual([]);
  });

  it('an unknown run is 404 FEDTSA_ERR_RUN_NOT_FOUND; one over 64 characters too, not echoed', async () => {
    for (const [method, suffix, body] of [['GET', '', undefined], ['POST', '', { count: 1 }], ['DELETE', '/0123456789abcdef', undefined]] as const) {
      expectRefusal(await send(method, `/api/runs/run-nope/device-tokens${suffix}`, body), 404, 'FEDTSA_ERR_RUN_NOT_FOUND', 'run-nope');
      const long = 'a'.repeat(65);
      expect(expectRefusal(await send(method, `/api/runs/${long}/device-tokens${suffix}`, body), 404, 'FEDTSA_ERR_RUN_NOT_FOUND')).not.toContain(long);
    }
  });

  it('a token the run does not have: 404 FEDTSA_ERR_NOT_FOUND, not echoed', async () => {
    const run = await createdRun();
    const token = 't'.repeat(90);
    expect(expectRefusal(await send('DELETE', `/api/runs/${run.id}/device-tokens/${token}`), 404, 'FEDTSA_ERR_NOT_FOUND')).not.toContain(token);
  });
});
