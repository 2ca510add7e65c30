/**
 * The page's end of the trainer (trainer.ts). Training runs in a module worker. Where there is
 * none (old browsers), or with ?worker=off, the same trainer runs on the page's thread: the
 * page is less responsive while training, and CDP CPU throttling (which cannot reach workers)
 * applies to it, as the e2e suite uses.
 */
import type { FromWorker, ToWorker } from './worker-messages.ts';

export type Progress = Extract<FromWorker, { kind: 'progress' }>;

export interface TrainerLink {
  thread: 'worker' | 'page';
  send(msg: ToWorker, transfer?: Transferable[]): void;
  /** The trainer's next message of this kind; rejects on its next error. */
  next<K extends FromWorker['kind']>(kind: K): Promise<Extract<FromWorker, { kind: K }>>;
}

/** `onError`: errors nobody waits for (a failed 'data' message, a trainer that did not load). */
export function connectTrainer(inPage: boolean, onProgress: (p: Progress) => void, onError: (message: string) => void): TrainerLink {
  const waiters: ((msg: FromWorker) => boolean)[] = [];
  const receive = (msg: FromWorker): void => {
    if (msg.kind === 'progress') return onProgress(msg);
    const i = waiters.findIndex((w) => w(msg));
    if (i >= 0) waiters.splice(i, 1);
    else if (msg.kind === 'error') onError(msg.message);
  };
  let send: TrainerLink['send'];
  if (inPage) {
    // Asynchronous both ways, like postMessage, so neither side runs inside the other's call.
    // Messages sent before the trainer module has loaded wait for it, in order.
    let handle: ((msg: ToWorker) => Promise<void>) | undefined;
    const early: ToWorker[] = [];
    const deliver = (msg: ToWorker) => setTimeout(() => void handle?.(msg), 0);
    send = (msg) => (handle ? deliver(msg) : early.push(msg));
    void import('./trainer.ts').then(({ startTrainer }) => {
      handle = startTrainer((msg) => setTimeout(() => receive(msg), 0));
      for (const msg of early.splice(0)) deliver(msg);
    }, (err: Error) => onError(`could not load the trainer: ${err.message}`));
  } else {
    const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<FromWorker>) => receive(event.data);
    send = (msg, transfer = []) => worker.postMessage(msg, transfer);
  }
  return {
    thread: inPage ? 'page' : 'worker',
    send,
    next: (kind) => new Promise((resolve, reject) => waiters.push((msg) => {
      if (msg.kind === kind) { resolve(msg as Extract<FromWorker, { kind: typeof kind }>); return true; }
      if (msg.kind === 'error') { reject(new Error(msg.message)); return true; }
      return false;
    })),
  };
}
