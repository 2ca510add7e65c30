/** The trainer (trainer.ts) in a module Web Worker, off the page's thread. */
import { startTrainer } from './trainer.ts';
import type { ToWorker } from './worker-messages.ts';

const handle = startTrainer((msg, transfer = []) => (self as unknown as Worker).postMessage(msg, transfer));
self.onmessage = (event: MessageEvent<ToWorker>) => void handle(event.data);
