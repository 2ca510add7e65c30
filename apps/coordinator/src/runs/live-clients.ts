/**
 * Which of a run's clients the API and the dashboard list: the live ones by default (connected,
 * training, or gone for less than the client grace; see RunStore.listLiveClients), every client
 * ever seen with `?all=true`. Nothing is deleted: the history stays in the store.
 */
import type { ClientSummary } from '@fedtsa/protocol/dashboard';
import type { ClientRecord, RunStore } from '../store/types.ts';

export type ClientsQuery = { ok: true; all: boolean } | { ok: false; message: string };

/** `?all=true|false`, nothing else: no other key, no repeated key, no other spelling. */
export function parseClientsQuery(query: unknown): ClientsQuery {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const unknown = Object.keys(q).filter((k) => k !== 'all');
  if (unknown.length > 0) return { ok: false, message: `unknown query parameter '${unknown[0]}'` };
  if (q.all === undefined) return { ok: true, all: false };
  if (q.all === 'true' || q.all === 'false') return { ok: true, all: q.all === 'true' };
  return { ok: false, message: `all must be 'true' or 'false', got ${JSON.stringify(q.all)}` };
}

const summary = ({ secretHash: _secret, runId: _run, ...c }: ClientRecord): ClientSummary => c;

export function listRunClients(store: RunStore, runId: string, all: boolean, now = Date.now()): ClientSummary[] {
  return (all ? store.listClients(runId) : store.listLiveClients(runId, now)).map(summary);
}
