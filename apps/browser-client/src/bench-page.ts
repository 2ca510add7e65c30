/**
 * Benchmark page: the client's training loop against plain model.fit, in one worker of one page.
 * URL parameters: backend (default wasm); shape=HxWxC and classes=N measure another task's
 * model than the built-in Fashion-MNIST one.
 */
import { defineTask, FASHION_MNIST_TASK, type TaskDefinition } from '@fedtsa/core/task';
import { isBackendName } from './backend-names.ts';

const params = new URLSearchParams(location.search);
const backend = params.get('backend');

function taskFromParams(): TaskDefinition {
  const shape = params.get('shape');
  const classes = params.get('classes');
  if (shape === null && classes === null) return FASHION_MNIST_TASK;
  const [h, w, c] = (shape?.split('x').map(Number) ?? FASHION_MNIST_TASK.inputShape) as [number, number, number];
  const n = Number(classes ?? FASHION_MNIST_TASK.classNames.length);
  return defineTask({ name: 'bench', inputShape: [h, w, c], classNames: Array.from({ length: n }, (_, i) => String(i)) });
}

const show = (result: unknown) => {
  (window as unknown as { __bench: unknown }).__bench = result;
  (document.getElementById('out') as HTMLElement).textContent = JSON.stringify(result, null, 2);
};
try {
  const task = taskFromParams();
  const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent) => show(e.data);
  worker.postMessage({ backend: isBackendName(backend) ? backend : 'wasm', task });
} catch (err) {
  show({ error: err instanceof Error ? err.message : String(err) });
}
