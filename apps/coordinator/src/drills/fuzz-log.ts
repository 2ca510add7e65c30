/** What the fuzz drill saw: every answer tallied by code, and the answers it must never get. */
import { isErrorCode, type Ack } from '@fedtsa/protocol/errors';

export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void { this.counts.set(key, (this.counts.get(key) ?? 0) + 1); }
  get total(): number { return [...this.counts.values()].reduce((a, b) => a + b, 0); }
  toString(): string { return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', '); }
}

export function isWellFormedAck(res: unknown): res is Ack<unknown> {
  if (typeof res !== 'object' || res === null) return false;
  const r = res as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
  if (r.ok === true) return 'value' in r;
  return r.ok === false && typeof r.error === 'object' && r.error !== null && isErrorCode(r.error.code) && typeof r.error.message === 'string';
}

/** Shared by the drill's phases: each counts the inputs it sends in `sent` and its duration in `timings`. */
export class FuzzLog {
  sent = 0;
  readonly timings: Record<string, number> = {};
  readonly acks = new Tally(); // codes (or 'ok') of every answer by ack
  readonly refusedEvents = new Tally(); // codes of 'refused' events (refusals of events sent without an ack)
  readonly malformedAnswers: unknown[] = [];
  readonly acceptedGarbage: unknown[] = [];

  readonly onRefused = (e: { code?: unknown; message?: unknown }) => {
    if (isErrorCode(e?.code) && typeof e.message === 'string') this.refusedEvents.add(e.code);
    else this.malformedAnswers.push({ refused: e });
  };

  readonly record = (event: string) => (res: unknown) => {
    if (!isWellFormedAck(res)) return void this.malformedAnswers.push({ event, res });
    this.acks.add(res.ok ? `${event}:ok` : res.error.code);
    if (res.ok && event === 'update') this.acceptedGarbage.push(res);
  };
}
