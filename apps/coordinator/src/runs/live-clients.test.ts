import { describe, expect, it } from 'vitest';
import { parseClientsQuery } from './live-clients.ts';

describe('parseClientsQuery', () => {
  it("takes 'true' and 'false' only", () => {
    expect(parseClientsQuery({})).toEqual({ ok: true, all: false });
    expect(parseClientsQuery(undefined)).toEqual({ ok: true, all: false });
    expect(parseClientsQuery({ all: 'true' })).toEqual({ ok: true, all: true });
    expect(parseClientsQuery({ all: 'false' })).toEqual({ ok: true, all: false });
    for (const all of ['', '1', 'yes', 'TRUE', 'True', ' true', true, ['true', 'true']]) expect(parseClientsQuery({ all }).ok, JSON.stringify(all)).toBe(false);
  });

  it('refuses in our words, without repeating what was sent', () => {
    const sent = 'x'.repeat(500);
    expect(parseClientsQuery({ all: sent })).toEqual({ ok: false, message: 'query.all: expected one of "true", "false"' });
    expect(parseClientsQuery({ all: ['true', 'true'] })).toEqual({ ok: false, message: 'query.all: expected one of "true", "false"' });
    expect(parseClientsQuery({ all: 'true', [sent]: '1' })).toEqual({ ok: false, message: 'query: the only parameter is all' });
  });
});
