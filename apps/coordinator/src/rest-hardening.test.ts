/**
 * Strict REST (issue 11, item 6), against a real coordinator on port 0 over real HTTP: bodies are
 * not coerced or trimmed but refused; params parse whole or are refused; every error body is
 * { code, message } with a catalogue code and a message in our words (no stack text, no internal
 * names, no framework wording, one prefix); 5xx bodies are generic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { ERROR_CODES, isErrorCode, type Ack, type ErrorCode } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import type { Coordinator } from './app.ts';
import { internalTextIn } from './clean-refusal.ts';
import { ADMIN, FAST_SETTINGS, startCoordinator } from './test-helpers.ts';

let coordinator: Coordinator;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  ({ coordinator, url } = await startCoordinator());
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await coordinator?.close();
});

interface Sent { status: number; text: string; json: unknown }

/** `body`: a string is sent as is, anything else as JSON; `contentType` null sends none. */
async function send(method: string, path: string, body?: unknown, contentType: string | null = 'application/json'): Promise<Sent> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined && contentType !== null) headers['content-type'] = contentType;
  const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

/** Fails on anything a client should not read (clean-refusal.ts). */
function assertClean(body: unknown): void {
  expect(internalTextIn(body), JSON.stringify(body)).toEqual([]);
}

/** A refusal: the status, a JSON body of exactly { code, message } with a catalogue code, nothing internal in it. */
function expectRefusal(res: Sent, status: number, code: ErrorCode, mentions?: string): string {
  expect({ status: res.status, text: res.text }).toEqual({ status, text: expect.any(String) as string });
  expect(res.json, res.text).toBeTypeOf('object');
  const body = res.json as { code: unknown; message: unknown };
  expect(Object.keys(body).sort()).toEqual(['code', 'message']);
  expect(isErrorCode(body.code), res.text).toBe(true);
  expect(body.code).toBe(code);
  expect(body.message).toBeTypeOf('string');
  assertClean(body);
  if (mentions) expect(body.message).toContain(mentions);
  return body.message as string;
}

const runCount = () => coordinator.registry.list().length;
const createdRun = async (body: Record<string, unknown> = { name: 'r' }) => {
  const res = await send('POST', '/api/runs', body);
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; joinToken: string; state: string; name: string };
};

describe('strict bodies: refused, not coerced or trimmed', () => {
  it.each([
    ['a number as the name', { name: 123 }, 'body.name: expected a string of at most 200 characters'],
    ['an array as the name', { name: ['a'] }, 'body.name: expected a string'],
    ['a string as start', { name: 'x', start: 'true' }, 'body.start: expected true or false'],
    ['an unknown top-level field', { name: 'x', colour: 'red' }, 'body.colour: unknown field'],
    ['an array as the settings', { settings: [] }, 'body.settings: expected an object'],
    ['a JSON string as the body', '"just text"', 'body: expected an object'],
    ['null as the body', 'null', 'body: expected an object'],
  ])('%s: 400 and no run created', async (_what, body, mentions) => {
    const before = runCount();
    expectRefusal(await send('POST', '/api/runs', body), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', mentions);
    expect(runCount()).toBe(before);
  });

  it.each([
    ['an unknown settings field', { nope: 1 }, 'body.settings.nope: unknown field'],
    ['an unknown stage2 field', { stage2: { nope: 1 } }, 'body.settings.stage2.nope: unknown field'],
    ['a string for an integer', { rounds: '5' }, 'body.settings.rounds: expected an integer from 1 to 100000'],
    ['an integer out of range', { rounds: 0 }, 'body.settings.rounds: expected an integer from 1 to 100000'],
    ['a number below an exclusive bound', { learningRate: 0 }, 'body.settings.learningRate: expected a number greater than 0 and at most 10'],
    ['a value outside a union', { optimizer: 'rmsprop' }, 'body.settings.optimizer: expected one of "sgd", "adam"'],
    ['a number for stage2', { stage2: 5 }, 'body.settings.stage2: expected an object'],
  ])('settings with %s: 400 naming the field in our words', async (_what, settings, mentions) => {
    expectRefusal(await send('POST', '/api/runs', { name: 'x', settings }), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', mentions);
  });

  it('settings nested 10,000 deep: a clean 400 naming where it went too deep, before any recursive walk', async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const message = expectRefusal(await send('POST', '/api/runs', `{"name":"deep","settings":${deep}}`), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body.settings.a.a.a');
    expect(message).toContain('nested deeper than');
    const deepUnderStage2 = `{"settings":{"stage2":{"poolSize":${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`;
    expectRefusal(await send('POST', '/api/runs', deepUnderStage2), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body.settings.stage2.poolSize.0.0');
  });

  it('settings with thousands of fields: a clean 400', async () => {
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    expectRefusal(await send('POST', '/api/runs', { settings: wide }), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body.settings: more than');
    expectRefusal(await send('POST', '/api/runs', { settings: { stage2: Array.from({ length: 5000 }, () => 0) } }), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body.settings: more than');
  });

  it('a control route refuses a body with content', async () => {
    const run = await createdRun();
    expectRefusal(await send('POST', `/api/runs/${run.id}/start`, { force: true }), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body: start takes no body');
    expect(coordinator.registry.get(run.id)?.record.state).toBe('created');
  });
});

describe('request framing: JSON, content types and size', () => {
  it.each([
    ['JSON that does not parse', '{"name":}', 400, 'body: not valid JSON'],
    ['an empty JSON body', '', 400, 'body: empty'],
    ['a __proto__ key', '{"__proto__":{"x":1}}', 400, 'body: not valid JSON'],
  ])('%s: 400', async (_what, body, status, mentions) => {
    expectRefusal(await send('POST', '/api/runs', body), status, 'FEDTSA_ERR_INVALID_PAYLOAD', mentions);
  });

  it('an unsupported content type: 415', async () => {
    expectRefusal(await send('POST', '/api/runs', '<run/>', 'application/xml'), 415, 'FEDTSA_ERR_INVALID_PAYLOAD', 'content type');
  });

  it('a text/plain body is parsed as text and refused as not an object', async () => {
    expectRefusal(await send('POST', '/api/runs', 'name=x', 'text/plain'), 400, 'FEDTSA_ERR_INVALID_PAYLOAD', 'body: expected an object');
  });

  it('a body over the limit: 413', async () => {
    const res = await send('POST', '/api/runs', `{"name":"${'x'.repeat(1_100_000)}"}`).catch(() => undefined);
    if (res) expectRefusal(res, 413, 'FEDTSA_ERR_TOO_LARGE'); // the server may cut the upload off after answering
  });
});

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
    expect(coordinator.registry.get(run.id)?.record.state).toBe('created');
    expect(coordinator.store.listDeviceTokens(run.id).map((t) => t.revokedAt)).toEqual([null]);
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
    const res = await fetch(`${url}/api/runs?verbose=1`);
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
    expect(coordinator.store.listDeviceTokens(run.id)).toEqual([]);
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

describe('unknown routes and server failures', () => {
  it.each([['GET', '/api/nope'], ['GET', '/nope'], ['PUT', '/api/runs'], ['DELETE', '/api/runs/x'], ['GET', '/api/runs/x/y/z/w'], ['POST', '/api']])('%s %s: 404 FEDTSA_ERR_NOT_FOUND', async (method, path) => {
    expectRefusal(await send(method, path), 404, 'FEDTSA_ERR_NOT_FOUND');
  });

  it('a failure inside a route: 500 with the generic text only, not err.message', async () => {
    const run = await createdRun();
    const original = coordinator.store.listRounds;
    coordinator.store.listRounds = () => { throw new Error('disk on fire at readRounds (/srv/store.ts:12:3)'); };
    try {
      const message = expectRefusal(await send('GET', `/api/runs/${run.id}/rounds`), 500, 'FEDTSA_ERR_INTERNAL');
      expect(message).toBe(ERROR_CODES.FEDTSA_ERR_INTERNAL);
    } finally {
      coordinator.store.listRounds = original;
    }
  });

  it('a failure while creating a run that is not the settings\' fault: 500, not 400 with its message', async () => {
    const original = coordinator.store.createRun;
    coordinator.store.createRun = () => { throw new Error('SQLITE_FULL: database or disk is full'); };
    try {
      const message = expectRefusal(await send('POST', '/api/runs', { name: 'x' }), 500, 'FEDTSA_ERR_INTERNAL');
      expect(message).toBe(ERROR_CODES.FEDTSA_ERR_INTERNAL);
    } finally {
      coordinator.store.createRun = original;
    }
  });

  it('a control the run\'s state forbids: 409 in our words', async () => {
    const run = await createdRun();
    expectRefusal(await send('POST', `/api/runs/${run.id}/pause`), 409, 'FEDTSA_ERR_RUN_STATE', 'cannot pause a run that is created');
    expect((await send('POST', `/api/runs/${run.id}/stop`)).status).toBe(200);
    expectRefusal(await send('POST', `/api/runs/${run.id}/resume`), 409, 'FEDTSA_ERR_RUN_STATE', 'cannot resume a run that is stopped');
  });
});

describe('good paths stay good', () => {
  it('a valid POST creates a run (201) and start: true starts it; controls without a body work', async () => {
    const created = await createdRun({ name: 'fine', settings: { ...FAST_SETTINGS, rounds: 2, minClientsToStart: 50 } });
    expect(created).toMatchObject({ name: 'fine', state: 'created' });
    const started = await createdRun({ name: 'started', settings: { minClientsToStart: 50 }, start: true });
    expect(started.state).toBe('running');
    const paused = await send('POST', `/api/runs/${started.id}/pause`, undefined, null);
    expect([paused.status, (paused.json as { state: string }).state]).toEqual([200, 'paused']);
    expect((await send('POST', `/api/runs/${started.id}/resume`, {})).status).toBe(200);
    expect((await send('POST', '/api/runs', {})).status).toBe(201);
  });

  it('what the dashboard sends (every field of the settings schema, as its form reads them) is accepted', async () => {
    type Schema = { type?: string; default?: unknown; properties?: Record<string, Schema> };
    const schema = (await send('GET', '/api/settings-schema')).json as Schema;
    const form = (props: Record<string, Schema>): Record<string, unknown> => Object.fromEntries(Object.entries(props)
      .filter(([key]) => key !== 'dataset')
      .map(([key, s]) => [key, s.type === 'object' && s.properties ? form(s.properties) : s.default]));
    const settings = form(schema.properties ?? {});
    expect(Object.keys(settings).length).toBeGreaterThan(10);
    const run = await createdRun({ name: 'from the form', settings: { ...settings, minClientsToStart: 50 }, start: false });
    expect(run.state).toBe('created');
  });
});

describe('socket refusals', () => {
  async function joined(runId: string, joinToken: string): Promise<Socket> {
    const s = io(`${url}${CLIENT_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION, runId, joinToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise((resolve, reject) => { s.once('welcome', resolve); s.once('connect_error', reject); });
    return s;
  }

  it('a refusal carries its prefix once; an internal failure is generic', async () => {
    const run = await createdRun({ name: 'sockets', settings: { minClientsToStart: 50 } });
    const s = await joined(run.id, run.joinToken);
    const refused = await s.timeout(5000).emitWithAck('update', { nonsense: true }) as Ack<unknown>;
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('FEDTSA_ERR_INVALID_PAYLOAD');
      assertClean(refused.error);
    }
    const engine = coordinator.registry.get(run.id)!;
    engine.heartbeat = () => { throw new Error('heartbeat exploded at RunEngine.heartbeat (run-engine.ts:200:5)'); };
    const failed = await s.timeout(5000).emitWithAck('heartbeat', { status: 'idle' }) as Ack<unknown>;
    expect(failed).toEqual({ ok: false, error: { code: 'FEDTSA_ERR_INTERNAL', message: ERROR_CODES.FEDTSA_ERR_INTERNAL } });
  });
});
