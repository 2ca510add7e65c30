/**
 * The page: consent, join, the run's task (Welcome.task: name, shape, classes), a capability
 * benchmark of that task's model, local data in its shape (a demo shard or the user's own
 * images), then one training round after another in the worker, with progress, pause, leave,
 * and reconnect with the same identity. URL parameters: run, token (the join link), server
 * (default: this origin), backend (force one of webgpu, webgl, wasm, cpu; tests use it),
 * worker=off (train on the page's thread).
 */
import { io, type Socket } from 'socket.io-client';
import type { TaskDefinition } from '@fedtsa/core/task';
import type { Ack } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, type ClientToServerEvents, type DemoShard, type ServerToClientEvents, type Welcome } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION, type Participation } from '@fedtsa/protocol/messages';
import { isBackendName } from './backend-names.ts';
import { capabilityBenchmark } from './capability-benchmark.ts';
import { readOwnImages } from './own-data.ts';
import { roundRunner, type RoundState } from './round-runner.ts';
import { watchParticipation } from './participation.ts';
import { attachParticipantView } from './participant-view.ts';
import { contextNotice, missingFeatures, readContextFacts } from './secure-context.ts';
import { load, remove, save, type StoredData } from './storage.ts';
import { convertedFor, LOCAL_HOLDOUT_FRACTION } from './task-images.ts';
import { showTask } from './task-view.ts';
import { connectTrainer } from './trainer-link.ts';
import type { BenchmarkResult } from './worker-messages.ts';

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
  /** The run's task, from Welcome, and whether the server evaluates (false: this page scores received models on held-out data). */
  task: undefined as { name: string; inputShape: [number, number, number]; classNames: string[] } | undefined,
  serverEvaluates: undefined as boolean | undefined,
  /** The local data the trainer holds: where from, how many images, their shape, and images per class. */
  data: undefined as { source: 'demo' | 'own'; count: number; shape: [number, number, number]; perClass: number[] } | undefined,
  /** `evaluation`: this page's score of the received model on its held-out images (serverEvaluates false). */
  rounds: [] as RoundState['rounds'],
  errors: [] as string[],
  trainingThread: 'worker' as 'worker' | 'page',
  /** The capability benchmark's result (score and how long it took), once measured. */
  benchmark: undefined as { samplesPerSec: number; durationMs: number; remembered: boolean } | undefined,
  /** Whether the participation policy lets this page train now (participation.ts); the rounds it sat out; its backend fallbacks. */
  participation: undefined as Participation | undefined,
  withdrawn: [] as RoundState['withdrawn'],
  fallbacks: [] as RoundState['fallbacks'],
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

const inPage = params.get('worker') === 'off' || typeof Worker === 'undefined';
const trainer = connectTrainer(inPage, (msg) => {
  const done = (msg.epoch * msg.batchesPerEpoch + msg.batch + 1) / (msg.epochs * msg.batchesPerEpoch);
  $<HTMLProgressElement>('progress').value = done;
  $('progress-text').textContent = `epoch ${msg.epoch + 1}/${msg.epochs}, batch ${msg.batch + 1}/${msg.batchesPerEpoch}, ` +
    `${msg.samplesPerSec.toFixed(0)} samples/s, loss ${msg.loss.toFixed(3)}`;
}, (text) => message(`Training failed: ${text}`, 'error'));
state.trainingThread = trainer.thread;

const benchmark = capabilityBenchmark(trainer, forced, {
  started() {
    if (state.phase === 'connecting') state.phase = 'benchmarking';
    $('backend').textContent = 'measuring…';
  },
  done(result, remembered) {
    const failed = result.trials.filter((t) => t.error);
    const note = $('benchmark-note');
    note.hidden = failed.length === 0;
    note.textContent = failed.map((t) => `${t.backend} is not usable here (${t.error}); using ${result.backend}.`).join(' ');
    state.backend = result.backend;
    state.samplesPerSec = result.samplesPerSec;
    state.benchmark = { samplesPerSec: result.samplesPerSec, durationMs: result.durationMs, remembered };
    $('backend').textContent = result.backend;
    $('score').textContent = `${result.samplesPerSec.toFixed(0)} samples/s${remembered ? ' (remembered)' : ''}`;
  },
});

let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
let welcome: Welcome | undefined;
/** The coordinator has this connection's capability: participation changes go to it from then on (a reconnect forgets them). */
let reported = false;
const participation = watchParticipation((p) => {
  state.participation = p;
  if (socket?.connected && reported) socket.emit('participation', p);
  if (!p.available) rounds.abort(p); // a round in progress cannot finish: stop it now
});
state.participation = participation.current();
/** What the trainer holds now. */
let held: StoredData | undefined;
/**
 * Resolves once the trainer holds local data. A page reloaded mid-round gets its task again as
 * soon as it reconnects, before its data is read back from IndexedDB: without this wait the
 * task failed ("no local data yet") and the round was lost until its deadline.
 */
let dataHeld: () => void = () => {};
const dataReady = new Promise<void>((resolve) => { dataHeld = resolve; });
const ownKey = (task: TaskDefinition) => `data:own:${task.name}`;

function sendData(task: TaskDefinition, data: StoredData): void {
  trainer.send({ kind: 'data', task, images: data.images, labels: data.labels, count: data.count });
  held = data;
  const perClass = task.classNames.map(() => 0);
  for (const label of data.labels) perClass[label] = (perClass[label] ?? 0) + 1;
  state.data = { source: data.source, count: data.count, shape: [...task.inputShape], perClass };
  const classes = perClass.filter((n) => n > 0).length;
  $('data').textContent = `${data.count} ${data.source === 'own' ? 'of your own images' : 'demo images'} in ${classes} of ${perClass.length} classes (kept on this device)`;
  dataHeld();
}
let paused = false;

/** Own images converted for this task, else this run's demo shard (kept, or fetched now when offered). */
async function loadData(s: Socket<ServerToClientEvents, ClientToServerEvents>, w: Welcome): Promise<StoredData | undefined> {
  const own = await load<StoredData>(ownKey(w.task));
  if (own && convertedFor(w.task, own)) return own;
  const cached = await load<StoredData>(`data:demo:${runId}`);
  if (cached) return cached;
  if (!w.demoShard) return undefined;
  const res = (await s.timeout(30_000).emitWithAck('demo-shard', {})) as Ack<DemoShard>;
  if (!res.ok) throw new Error(`${res.error.code}: ${res.error.message}`);
  const toBytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? b : new Uint8Array(b));
  const data: StoredData = { images: toBytes(res.value.images).slice(), labels: toBytes(res.value.labels).slice(), count: res.value.count, source: 'demo' };
  await save(`data:demo:${runId}`, data);
  return data;
}

/** The device's score and data; the coordinator caps each update's sample count by what is declared here. */
async function reportCapability(s: Socket<ServerToClientEvents, ClientToServerEvents>, result: BenchmarkResult): Promise<void> {
  const ack = (await s.timeout(30_000).emitWithAck('capability', {
    samplesPerSec: result.samplesPerSec, backend: result.backend,
    cores: navigator.hardwareConcurrency || undefined,
    memoryGb: (navigator as unknown as { deviceMemory?: number }).deviceMemory,
    ownDataSamples: held?.source === 'own' ? held.count : undefined,
  })) as Ack<unknown>;
  if (!ack.ok) message(`The coordinator refused the capability report: ${ack.error.message}`, 'error');
  await participation.ready;
  reported = true;
  s.emit('participation', participation.current());
  if (state.phase === 'connecting' || state.phase === 'benchmarking') state.phase = 'ready';
  if (state.phase === 'ready') $('status').textContent = 'waiting for a round';
}

const rounds = roundRunner({
  state, trainer, benchmark, participation, reportCapability, welcome: () => welcome, source: () => held?.source ?? 'demo',
});

/** Welcome (also after every reconnect): show the task, measure its model once, load data in its shape, report. */
function onWelcome(s: Socket<ServerToClientEvents, ClientToServerEvents>, w: Welcome): void {
  welcome = w;
  state.task = { name: w.task.name, inputShape: [...w.task.inputShape], classNames: [...w.task.classNames] };
  state.serverEvaluates = w.serverEvaluates;
  participation.setRunPolicy(w.participation);
  showTask(w.task, w.serverEvaluates, Math.round(LOCAL_HOLDOUT_FRACTION * 100));
  void (async () => {
    let result: BenchmarkResult;
    try {
      result = await benchmark.once(w.task);
    } catch (err) {
      state.phase = 'error';
      message(`This device cannot train: ${(err as Error).message}`, 'error');
      s.disconnect();
      return;
    }
    const loaded = held ?? await loadData(s, w);
    // Own images picked while the demo shard was loading win over it.
    if (!held && loaded) sendData(w.task, loaded);
    if (!held) {
      $('data').textContent = 'no data yet: choose your own labelled images';
      $('status').textContent = 'waiting for your images';
      return;
    }
    await reportCapability(s, result);
  })().catch((err: Error) => message(`Could not load data: ${err.message}`, 'error'));
}

function connect(): void {
  state.phase = 'connecting';
  $('status').textContent = 'connecting…';
  const auth: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION, runId, joinToken };
  void load<{ clientId: string; clientSecret: string }>(`identity:${runId}`).then((identity) => {
    if (identity) Object.assign(auth, identity);
    const s = io(`${server}${CLIENT_NAMESPACE}`, { auth, transports: ['websocket'], reconnectionDelayMax: 5000 });
    socket = s;
    // The participant's section: accuracy by round, device counts, "Try the model" (participant-view.ts).
    attachParticipantView(s, { runId, server });
    let tasks = Promise.resolve();
    s.on('connect', () => { clearMessage(); $('status').textContent = 'connected'; });
    s.on('disconnect', () => { reported = false; });
    s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      const code = err.data?.code;
      if (code === 'FEDTSA_ERR_BAD_TOKEN' && auth.clientId) {
        // Our saved identity is unknown here (a new coordinator): join afresh.
        delete auth.clientId;
        delete auth.clientSecret;
        void remove(`identity:${runId}`);
        return;
      }
      if (code === 'FEDTSA_ERR_RUN_STATE' && auth.clientId) {
        // A returning participant of a run that is over: their results stay on the page (participant-view.ts).
        state.phase = 'left';
        message('This run has ended: no more rounds to train. What your cluster learned is below.', 'info');
        s.disconnect();
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
      onWelcome(s, w);
    });
    s.on('assignment', (a) => {
      state.clusterIndex = a.clusterIndex;
      state.widthRatio = a.widthRatio;
      $('cluster').textContent = `${a.clusterIndex + 1} of ${a.clusters}`;
      $('width').textContent = `${Math.round(a.widthRatio * 100)}% of the full model`;
    });
    s.on('task', (task) => { tasks = tasks.then(() => dataReady).then(() => rounds.run(s, task)).catch((err: Error) => message(`Round failed: ${err.message}`, 'error')); });
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
  connect();
});

$('remeasure').addEventListener('click', () => {
  const w = welcome;
  if (!w) return;
  void benchmark.again(w.task).then((r) => (socket && held ? reportCapability(socket, r) : undefined))
    .catch((err: Error) => message(`Could not measure again: ${err.message}`, 'error'));
});

// Enabled once the task is known (task-view.ts): images are converted to its shape and labelled by its classes.
$<HTMLInputElement>('own-data').addEventListener('change', (event) => {
  const files = (event.target as HTMLInputElement).files;
  const w = welcome;
  if (!files || files.length === 0 || !w) return;
  $('data').textContent = `reading ${files.length} files…`;
  void readOwnImages(files, w.task).then(async (data) => {
    await save(ownKey(w.task), data);
    sendData(w.task, data);
    // Declare the new count (the coordinator caps updates by it); a page that had no data is ready now.
    const result = await benchmark.latest();
    if (socket?.connected && result) await reportCapability(socket, result);
  }).catch((err: Error) => message(`Could not read those images: ${err.message}`, 'error'));
});

$('pause').addEventListener('click', () => {
  paused = !paused;
  trainer.send({ kind: 'pause', paused });
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
