/** Benchmark page: the client's training loop against plain model.fit, in one worker of one page. */
import { isBackendName } from './backend-names.ts';

const backend = new URLSearchParams(location.search).get('backend');
const worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (e: MessageEvent) => {
  (window as unknown as { __bench: unknown }).__bench = e.data;
  (document.getElementById('out') as HTMLElement).textContent = JSON.stringify(e.data, null, 2);
};
worker.postMessage({ backend: isBackendName(backend) ? backend : 'wasm' });
