/**
 * The page: consent, capability benchmark, join, local data, then one training round after
 * another in the worker, with progress, pause, leave, and reconnect with the same identity.
 * URL parameters: run, token (the join link), server (default: this origin), backend (force
 * one of webgpu, webgl, wasm, cpu; tests use it).
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, type ClientToServerEvents, type DemoShard, type ServerToClientEvents, type TrainingTask } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { isBackendName } from './backend-names.ts';
import { readOwnImages } from './own-data.ts';
import { contextNotice, missingFeatures, readContextFacts } from './secure-context.ts';
import { load, remove, save, type StoredData } from './storage.ts';
import type { BenchmarkResult, FromWorker, ToWorker } from './worker-messages.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const runId = params.get('run') ?? '';
const joinToken = params.get('token') ?? '';
const server = params.get('server') ?? location.origin;
const forcedParam = params.get('backend');
const forced = isBackendName(forcedParam) ? forcedParam : undefined;

const facts = readContextFacts();

/** State the end-to-end tests read. */
const state = {
  phase: 'consent' as 'consent' | 'benchmarking' | 'connecting' | 'ready' | 'training' | 'left' | 'error',
  clientId: undefined as string | undefined,
  backend: undefined as string | undefined,
  samplesPerSec: undefined as number | undefined,
  clusterIndex: undefined as number | undefined,
  widthRatio: undefined as number | undefined,
  rounds: [] as { round: number; accepted: boolean; numTensors: number; loss: number }[],
  errors: [] as string[],
  trainingThread: 'worker' as 'worker' | 'page',
  /** The capability benchmark's result (score and how long it took), once measured. */
  benchmark: undefined as { samplesPerSec: number; durationMs: number; remembered: boolean } | undefined,
  /** Secure context and the features it gates (secure-context.ts), read once at load. */
  context: { secure: facts.isSecureContext, missing: missingFeatures(facts).map((m) => m.feature) },
};
(window as unknown as { __fedtsa: typeof state }).__fedtsa = state;

// Over http:// from another machine the page trains without WebGPU and wake lock: it says so before the user joins.
const notice = contextNotice(facts);
if (notice !== undefined) {
  $('context-note').hidden = false;
  $('context-note').textContent = notice;
}

function message(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('message');
  el.hidden = false;
  el.textContent = text;
  el.classList.toggle('error', kind === 'error');
  if (kind === 'error') state.errors.push(text);
}

function clearMessage(): void {
  $('message').hidden = true;
}

/**
 * Training runs in a module worker. Where there is none (old browsers), or with ?worker=off,
 * the same trainer runs on the page's thread: the page is less responsive while training,
 * and CDP CPU throttling (which cannot reach workers) applies to it, as the e2e suite uses.
 */
const inPage = params.get('worker') === 'off' || typeof Worker === 'undefined';
state.trainingThread = inPage ? 'page' : 'worker';
let toWorker: (msg: ToWorker, transfer?: Transferable[]) => void;
if (inPage) {
  // Asynchronous both ways, like postMessage, so neither side runs inside the other's call.
  // Messages sent before the trainer module has loaded wait for it, in order.
  let handle: ((msg: ToWorker) => Promise<void>) | undefined;
  const early: ToWorker[] = [];
  const deliver = (msg: ToWorker) => setTimeout(() => void handle?.(msg), 0);
  toWorker = (msg) => (handle ? deliver(msg) : early.push(msg));
  void import('./trainer.ts').then(({ startTrainer }) => {
    handle = startTrainer((msg) => setTimeout(() => onTrainerMessage(msg), 0));
    for (const msg of early.splice(0)) deliver(msg);
  }, (err: Error) => message(`Could not load the trainer: ${err.message}`, 'error'));
} else {
  const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onTrainerMessage(event.data);
  toWorker = (msg, transfer = []) => worker.postMessage(msg, transfer);
}
const waiters: ((msg: FromWorker) => boolean)[] = [];
function nextFromWorker<K extends FromWorker['kind']>(kind: K): Promise<Extract<FromWorker, { kind: K }>> {
  return new Promise((resolve, reject) => waiters.push((msg) => {
    if (msg.kind === kind) { resolve(msg as Extract<FromWorker, { kind: K }>); return true; }
    if (msg.kind === 'error') { reject(new Error(msg.message)); return true; }
    return false;
  }));
}
function onTrainerMessage(msg: FromWorker): void {
  if (msg.kind === 'progress') {
    const done = (msg.epoch * msg.batchesPerEpoch + msg.batch + 1) / (msg.epochs * msg.batchesPerEpoch);
    $<HTMLProgressElement>('progress').value = done;
    $('progress-text').textContent = `epoch ${msg.epoch + 1}/${msg.epochs}, batch ${msg.batch + 1}/${msg.batchesPerEpoch}, ` +
      `${msg.samplesPerSec.toFixed(0)} samples/s, loss ${msg.loss.toFixed(3)}`;
    return;
  }
  const i = waiters.findIndex((w) => w(msg));
  if (i >= 0) waiters.splice(i, 1);
  else if (msg.kind === 'error') message(`Training failed: ${msg.message}`, 'error');
}

async function benchmark(again = false): Promise<BenchmarkResult> {
  state.phase = 'benchmarking';
  $('backend').textContent = 'measuring…';
  const key = `benchmark:${forced ?? 'auto'}`;
  const cached = again ? undefined : await load<BenchmarkResult>(key);
  let result: BenchmarkResult;
  if (cached) {
    toWorker({ kind: 'use-backend', backend: cached.backend });
    await nextFromWorker('backend-ready');
    result = cached;
  } else {
    toWorker({ kind: 'benchmark', forced, budgetMs: 3000 });
    result = (await nextFromWorker('benchmark')).result;
    await save(key, result);
  }
  const failed = result.trials.filter((t) => t.error);
  const note = $('benchmark-note');
  note.hidden = failed.length === 0;
  note.textContent = failed.map((t) => `${t.backend} is not usable here (${t.error}); using ${result.backend}.`).join(' ');
  state.backend = result.backend;
  state.samplesPerSec = result.samplesPerSec;
  state.benchmark = { samplesPerSec: result.samplesPerSec, durationMs: result.durationMs, remembered: cached !== undefined };
  $('backend').textContent = result.backend;
  $('score').textContent = `${result.samplesPerSec.toFixed(0)} samples/s${cached ? ' (remembered)' : ''}`;
  return result;
}

let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
/**
 * Resolves once the trainer holds local data. A page reloaded mid-round gets its task again as
 * soon as it reconnects, before its data is read back from IndexedDB: without this wait the
 * task failed ("no local data yet") and the round was lost until its deadline.
 */
let dataHeld: () => void = () => {};
const dataReady = new Promise<void>((resolve) => { dataHeld = resolve; });

function sendData(data: { images: Uint8Array; labels: Uint8Array; count: number }): void {
  toWorker({ kind: 'data', images: data.images, labels: data.labels, count: data.count });
  dataHeld();
}
let wakeLock: { release(): Promise<void> } | undefined;
let paused = false;

async function loadData(s: Socket<ServerToClientEvents, ClientToServerEvents>, offered: boolean): Promise<StoredData | undefined> {
  const own = await load<StoredData>('data:own');
  if (own) return own;
  const cached = await load<StoredData>(`data:demo:${runId}`);
  if (cached) return cached;
  if (!offered) return undefined;
  const res = (await s.timeout(30_000).emitWithAck('demo-shard', {})) as Ack<DemoShard>;
  if (!res.ok) throw new Error(`${res.error.code}: ${res.error.message}`);
  const toBytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? b : new Uint8Array(b));
  const data: StoredData = { images: toBytes(res.value.images).slice(), labels: toBytes(res.value.labels).slice(), count: res.value.count, source: 'demo' };
  await save(`data:demo:${runId}`, data);
  return data;
}

async function onTask(s: Socket<ServerToClientEvents, ClientToServerEvents>, task: TrainingTask): Promise<void> {
  state.phase = 'training';
  $('training').hidden = false;
  $('round').textContent = String(task.round);
  $('status').textContent = 'training';
  s.emit('heartbeat', { status: 'training', round: task.round });
  try {
    wakeLock = await (navigator as unknown as { wakeLock?: { request(t: 'screen'): Promise<{ release(): Promise<void> }> } }).wakeLock?.request('screen');
  } catch {
    wakeLock = undefined; // not allowed here (e.g. a hidden tab); training goes on without it
  }
  toWorker({ kind: 'train', task });
  const trained = await nextFromWorker('trained');
  await wakeLock?.release().catch(() => undefined);
  const res = (await s.timeout(60_000).emitWithAck('update', trained.update).catch((err: Error) => ({ ok: false as const, error: { code: 'TIMEOUT', message: err.message } }))) as Ack<{ accepted: true; round: number }>;
  state.rounds.push({ round: task.round, accepted: res.ok, numTensors: trained.numTensors, loss: trained.loss });
  state.phase = 'ready';
  $('status').textContent = res.ok ? `round ${task.round} sent; waiting for the next round` : `round ${task.round} not accepted (${res.error.code})`;
  $('progress-text').textContent = `round ${task.round} done in ${(trained.elapsedMs / 1000).toFixed(1)} s, loss ${trained.loss.toFixed(3)}`;
  s.emit('heartbeat', { status: 'idle' });
}

function connect(result: BenchmarkResult): void {
  state.phase = 'connecting';
  $('status').textContent = 'connecting…';
  const auth: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION, runId, joinToken };
  void load<{ clientId: string; clientSecret: string }>(`identity:${runId}`).then((identity) => {
    if (identity) Object.assign(auth, identity);
    const s = io(`${server}${CLIENT_NAMESPACE}`, { auth, transports: ['websocket'], reconnectionDelayMax: 5000 });
    socket = s;
    let tasks = Promise.resolve();
    s.on('connect', () => { clearMessage(); $('status').textContent = 'connected'; });
    s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      const code = err.data?.code;
      if (code === 'FEDTSA_ERR_BAD_TOKEN' && auth.clientId) {
        // Our saved identity is unknown here (a new coordinator): join afresh.
        delete auth.clientId;
        delete auth.clientSecret;
        void remove(`identity:${runId}`);
        return;
      }
      if (code === 'FEDTSA_ERR_BAD_TOKEN' || code === 'FEDTSA_ERR_RUN_NOT_FOUND' || code === 'FEDTSA_ERR_RUN_STATE' || code === 'FEDTSA_ERR_PROTOCOL_VERSION') {
        state.phase = 'error';
        message(`The coordinator refused this join link (${code}): ${err.message}. Ask the organiser for a new link.`, 'error');
        s.disconnect();
        return;
      }
      message(`Cannot reach the coordinator at ${server} (${err.message}); retrying…`, 'error');
    });
    s.on('welcome', (w) => {
      state.clientId = w.clientId;
      Object.assign(auth, { clientId: w.clientId, clientSecret: w.clientSecret });
      void save(`identity:${runId}`, { clientId: w.clientId, clientSecret: w.clientSecret });
      void (async () => {
        const data = await loadData(s, w.demoShard !== undefined);
        if (!data) {
          $('data').textContent = 'no data yet: choose your own labelled images';
          return;
        }
        sendData(data);
        $('data').textContent = `${data.count} ${data.source === 'own' ? 'of your own images' : 'demo images'} (kept on this device)`;
        const ack = (await s.timeout(30_000).emitWithAck('capability', {
          samplesPerSec: result.samplesPerSec, backend: result.backend,
          cores: navigator.hardwareConcurrency || undefined,
          memoryGb: (navigator as unknown as { deviceMemory?: number }).deviceMemory,
          ownDataSamples: data.source === 'own' ? data.count : undefined,
        })) as Ack<unknown>;
        if (!ack.ok) message(`The coordinator refused the capability report: ${ack.error.message}`, 'error');
        state.phase = state.phase === 'connecting' ? 'ready' : state.phase;
        $('status').textContent = 'waiting for a round';
      })().catch((err: Error) => message(`Could not load data: ${err.message}`, 'error'));
    });
    s.on('assignment', (a) => {
      state.clusterIndex = a.clusterIndex;
      state.widthRatio = a.widthRatio;
      $('cluster').textContent = `${a.clusterIndex + 1} of ${a.clusters}`;
      $('width').textContent = `${Math.round(a.widthRatio * 100)}% of the full model`;
    });
    s.on('task', (task) => { tasks = tasks.then(() => dataReady).then(() => onTask(s, task)).catch((err: Error) => message(`Round failed: ${err.message}`, 'error')); });
    s.on('run-state', (r) => { if (r.state === 'completed' || r.state === 'stopped') $('status').textContent = `the run is ${r.state}; thank you`; });
    s.on('refused', (e) => message(`Refused: ${e.message}`, 'error'));
    s.on('round-closed', (r) => { if (r.refusal) message(`Round ${r.round}: the update was left out (${r.refusal.message})`, 'error'); });
  });
}

$('join').addEventListener('click', () => {
  if (!runId || !joinToken) {
    message('This link is missing its run or token. Open the join link from the organiser.', 'error');
    return;
  }
  $('consent').hidden = true;
  $('device').hidden = false;
  void benchmark().then(connect).catch((err: Error) => {
    state.phase = 'error';
    message(`This device cannot train: ${err.message}`, 'error');
  });
});

$('remeasure').addEventListener('click', () => {
  void benchmark(true).then((r) => socket?.emit('capability', { samplesPerSec: r.samplesPerSec, backend: r.backend }, () => undefined));
});

$<HTMLInputElement>('own-data').addEventListener('change', (event) => {
  const files = (event.target as HTMLInputElement).files;
  if (!files) return;
  void readOwnImages(files, 10).then(async (data) => {
    await save('data:own', data);
    sendData(data);
    $('data').textContent = `${data.count} of your own images in ${data.classNames?.length ?? 0} classes (kept on this device)`;
  }).catch((err: Error) => message(`Could not read those images: ${err.message}`, 'error'));
});

$('pause').addEventListener('click', () => {
  paused = !paused;
  toWorker({ kind: 'pause', paused });
  $('pause').textContent = paused ? 'Resume' : 'Pause';
  socket?.emit('heartbeat', { status: paused ? 'paused' : 'training' });
});

$('leave').addEventListener('click', () => {
  socket?.emit('leave');
  socket?.disconnect();
  void remove(`identity:${runId}`);
  state.phase = 'left';
  $('training').hidden = true;
  message('You left the run. Thank you for helping; you can close this page.');
});

// A reload of a page that had joined goes straight back in, with the same identity.
void load(`identity:${runId}`).then((identity) => {
  if (identity && runId && joinToken) $('join').click();
});
