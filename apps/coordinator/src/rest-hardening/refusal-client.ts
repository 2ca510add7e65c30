/**
 * Strict REST (issue 11, item 6), against a real coordinator on port 0 over real HTTP: bodies are
 * not coerced or trimmed but refused; params parse whole or are refused; every error body is
 * { code, message } with a catalogue code and a message in our words (no stack text, no internal
 * names, no framework wording, one prefix); 5xx bodies are generic.
 *
 * What the rest-hardening tests share: admin requests to the coordinator, and the checks every
 * refusal must pass.
 */
import { expect } from 'vitest';
import { isErrorCode, type ErrorCode } from '@fedtsa/protocol/errors';
import type { Coordinator } from '../app.ts';
import { internalTextIn } from '../clean-refusal.ts';
import { ADMIN } from '../test-helpers.ts';

export interface Sent { status: number; text: string; json: unknown }

/** Fails on anything a client should not read (clean-refusal.ts). */
export function assertClean(body: unknown): void {
  expect(internalTextIn(body), JSON.stringify(body)).toEqual([]);
}

/** A refusal: the status, a JSON body of exactly { code, message } with a catalogue code, nothing internal in it. */
export function expectRefusal(res: Sent, status: number, code: ErrorCode, mentions?: string): string {
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

/** Requests to the coordinator `target` returns once the test file's beforeAll has started it. */
export function refusalClient(target: () => { coordinator: Coordinator; url: string }) {
  /** `body`: a string is sent as is, anything else as JSON; `contentType` null sends none. */
  async function send(method: string, path: string, body?: unknown, contentType: string | null = 'application/json'): Promise<Sent> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
    if (body !== undefined && contentType !== null) headers['content-type'] = contentType;
    const res = await fetch(`${target().url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, text, json };
  }

  const runCount = () => target().coordinator.registry.list().length;
  const createdRun = async (body: Record<string, unknown> = { name: 'r' }) => {
    const res = await send('POST', '/api/runs', body);
    expect(res.status, res.text).toBe(201);
    return res.json as { id: string; joinToken: string; state: string; name: string };
  };

  return { send, runCount, createdRun };
}
