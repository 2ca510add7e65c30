import { describe, expect, it } from 'vitest';
import { parseClientsQuery } from './live-clients.ts';

describe('parseClientsQuery', () => {
  it("takes 'true' and 'false' only", () => {
    expect(parseClientsQuery({})).toEqual({ ok: true, all: false });
    expect(parseClientsQuery(undefined)).toEqual({ ok: true, all: false });
    expect(parseClientsQuery({ all: 'true' })).toEqual({ ok: true, all: true });
    expect(parseClientsQuery({ all: 'false' })).toEqual({ ok: true, all: false });
    for (const all of ['', '1', 'yes', 'TRUE', 'True', ' true', true, ['true', 'true']]) expect(parseClientsQuery({ all }).ok, JSON.stringify(all)).toBe(false);
    expect(parseClientsQuery({ all: 'true', since: '1' })).toMatchObject({ ok: false, message: "unknown query parameter 'since'" });
  });
});
