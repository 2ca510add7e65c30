/**
 * The coordinator's one hub of run changes: engines emit what the dashboard shows changing (a
 * run's clients, rounds or state; the registry its synthetic pool's progress) and whoever shows it (the dashboard namespace) subscribes.
 * app.ts makes one per coordinator; nothing here knows sockets, stores or engines.
 */

export type RunChangeKind = 'clients' | 'round' | 'state' | 'pool';

export interface RunChange {
  runId: string;
  what: RunChangeKind;
}

export type RunChangeListener = (change: RunChange) => void;

/** The side an engine holds: it can report a change, not listen. */
export interface RunChangeSink {
  emit(change: RunChange): void;
}

export class RunEvents implements RunChangeSink {
  private readonly listeners = new Set<RunChangeListener>();

  /** Adds `listener`; returns what removes it again. */
  subscribe(listener: RunChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.unsubscribe(listener);
  }

  unsubscribe(listener: RunChangeListener): void {
    this.listeners.delete(listener);
  }

  /** Calls every listener subscribed now, in order; with none, a change goes nowhere. */
  emit(change: RunChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}
