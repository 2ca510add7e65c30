/** Strict REST (refusal-client.ts): unknown routes and server failures, good paths that stay good, and socket refusals in the same words. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { ERROR_CODES, type Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import type { Coordinator } from '../app.ts';
import { FAST_SETTINGS, startCoordinator } from '../test-helpers.ts';
import { assertClean, expectRefusal, refusalClient } from './refusal-client.ts';

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

const { send, createdRun } = refusalClient(() => ({ coordinator, url }));

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
      .map(([key, s]) => [key, s.type === 'object' && s.properties ? form(s.properties) : s.default]));
    const settings = form(schema.properties ?? {});
    expect(Object.keys(settings).length).toBeGreaterThan(10);
    // This coordinator has no generator: the form unticks and locks stage2.enabled for such a task (task-picker.ts).
    (settings.stage2 as Record<string, unknown>).enabled = false;
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
