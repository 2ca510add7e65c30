/**
 * The query that picks which of a run's clients GET /api/runs/:id/clients lists: the live ones
 * by default, every client ever seen with `?all=true` (the listing itself: run-view.ts). Nothing
 * is deleted: the history stays in the store.
 */
import { expectation } from '../field-errors.ts';

/** The query GET /api/runs/:id/clients takes, with the values of each (routes/strict.ts refuses any other first). */
export const CLIENTS_QUERY = { all: ['true', 'false'] } as const satisfies Record<string, readonly string[]>;

export type ClientsQuery = { ok: true; all: boolean } | { ok: false; message: string };

/**
 * `?all=true|false`, nothing else: no other key, no repeated key, no other spelling. The message
 * says what is expected in our words and does not repeat what was sent.
 */
export function parseClientsQuery(query: unknown): ClientsQuery {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  if (Object.keys(q).some((k) => k !== 'all')) return { ok: false, message: 'query: the only parameter is all' };
  if (q.all === undefined) return { ok: true, all: false };
  if (q.all === 'true' || q.all === 'false') return { ok: true, all: q.all === 'true' };
  return { ok: false, message: `query.all: expected ${expectation({ anyOf: CLIENTS_QUERY.all.map((v) => ({ const: v })) })}` };
}
