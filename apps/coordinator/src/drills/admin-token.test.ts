/**
 * Fault drill 3 against a real coordinator (port 0): every control route and the dashboard
 * namespace refuse a missing, wrong or malformed admin token.
 */
import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { DASHBOARD_NAMESPACE } from '@fedtsa/protocol/events';
import { ADMIN, FAST_SETTINGS } from '../test-helpers.ts';
import { type Json, useDrillHarness } from './drill-client.ts';

const harness = useDrillHarness();

describe('fault drills', () => {
  it('drill 3: every control route and the dashboard namespace refuse a missing, wrong or malformed admin token; the run is unchanged', async () => {
    const { coordinator, url, api } = harness();
    const created = await api('POST', '/api/runs', { name: 'guarded', settings: { ...FAST_SETTINGS, rounds: 2 } });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };
    const state = async () => ({ run: (await api('GET', `/api/runs/${id}`)).body, runs: coordinator.registry.list().length, rounds: coordinator.store.listRounds(id).length });
    const before = await state();
    expect(before.run.state).toBe('created');

    const routes: [string, string, unknown?][] = [
      ['GET', '/api/runs'], ['POST', '/api/runs', { name: 'intruder', start: true }], ['GET', `/api/runs/${id}`],
      ['POST', `/api/runs/${id}/start`], ['POST', `/api/runs/${id}/pause`], ['POST', `/api/runs/${id}/resume`], ['POST', `/api/runs/${id}/stop`],
      ['GET', `/api/runs/${id}/rounds`], ['GET', `/api/runs/${id}/clients`], ['GET', `/api/runs/${id}/metrics`], ['GET', `/api/runs/${id}/metrics.csv`],
      ['GET', '/api/settings-schema'], ['GET', '/api/process'], ['GET', `/api/runs/${id}/clusters/0/model.json`], ['GET', `/api/runs/${id}/clusters/0/weights.bin`],
    ];
    const authorizations: [string, string | undefined][] = [
      ['none', undefined], ['wrong token', 'Bearer not-the-admin-token'], ['token with a suffix', `Bearer ${ADMIN}x`], ['no token after the scheme', 'Bearer'],
      ['no scheme', ADMIN], ['another scheme', `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`], ['token as the scheme', `${ADMIN} Bearer`],
      ['8 KB of garbage', `Bearer ${'x'.repeat(8192)}`],
    ];
    let refusals = 0;
    for (const [method, path, body] of routes) {
      for (const [what, authorization] of authorizations) {
        const res = await fetch(`${url}${path}`, {
          method, body: body ? JSON.stringify(body) : undefined,
          headers: { ...(authorization !== undefined ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        });
        const text = await res.text();
        expect({ method, path, what, status: res.status }).toEqual({ method, path, what, status: 401 });
        expect(JSON.parse(text)).toMatchObject({ code: 'FEDTSA_ERR_UNAUTHORIZED' });
        refusals++;
      }
    }
    // The same routes answer with the token (the 401s above are the guard, not broken routes); read-only ones only.
    for (const [method, path] of routes.filter(([m]) => m === 'GET')) {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
      await res.arrayBuffer();
      expect([200, 404]).toContain(res.status); // a run not yet started has no cluster models: 404 FEDTSA_ERR_RUN_NOT_FOUND
    }

    const dashboardRefusal = (auth: Json | undefined) => new Promise<string>((resolve) => {
      const s = io(`${url}${DASHBOARD_NAMESPACE}`, { ...(auth ? { auth } : {}), transports: ['websocket'], reconnection: false, forceNew: true });
      harness().sockets.push(s);
      s.on('connect_error', (err: Error & { data?: { code?: string } }) => { s.close(); resolve(err.data?.code ?? `uncoded: ${err.message}`); });
      s.on('connect', () => { s.close(); resolve('connected'); });
    });
    expect(await dashboardRefusal(undefined)).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({})).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: 'not-the-admin-token' })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: `${ADMIN}x` })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: 12345 })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ token: ADMIN })).toBe('FEDTSA_ERR_UNAUTHORIZED');
    expect(await dashboardRefusal({ adminToken: ADMIN })).toBe('connected');

    expect(await state()).toEqual(before);
    console.log(`[drill 3] ${refusals} unauthorized requests refused with 401 FEDTSA_ERR_UNAUTHORIZED; 6 dashboard handshakes refused`);
  }, 60_000);
});
