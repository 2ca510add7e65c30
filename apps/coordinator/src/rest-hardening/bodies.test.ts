/** Strict REST (refusal-client.ts): bodies refused, not coerced or trimmed; JSON, content types and size. */
import { describe, expect, it } from 'vitest';
import { useCoordinator } from '../test-helpers.ts';
import { expectRefusal, refusalClient } from './refusal-client.ts';

const served = useCoordinator();
const { send, runCount, createdRun } = refusalClient(served);

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
    expect(served().coordinator.registry.get(run.id)?.record.state).toBe('created');
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
