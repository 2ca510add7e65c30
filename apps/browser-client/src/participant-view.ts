/**
 * What the participant sees of the run it helps: its cluster's accuracy by round (a small SVG
 * chart), how many devices take part, and "Try the model" (an image picked on this device,
 * classified on this device by its cluster's model) with a download of that model.
 *
 * It listens on the page's socket beside main.ts: Welcome gives the identity (which the
 * progress routes ask for, routes/progress.ts on the coordinator) and the task; every task
 * gives the cluster model for that round, kept as the model to try; round-closed, run-state and
 * each new task refresh the figures from GET /api/runs/:id/progress. Once the run is over, the
 * cluster's final model replaces the one from the last task (GET /api/runs/:id/progress/model),
 * so the model tried and downloaded holds every round. tfjs is loaded only when the participant
 * tries or downloads the model (try-model.ts). A page reloaded after the run (whose socket the
 * coordinator refuses then) still shows all this: the identity main.ts keeps in IndexedDB and the
 * task kept here are enough for the REST routes.
 */
import type { Socket } from 'socket.io-client';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import { decodeWeights } from '@fedtsa/protocol/codec';
import type { ClientToServerEvents, ServerToClientEvents, TrainingTask } from '@fedtsa/protocol/events';
import { isRunProgress, MODEL_HEADERS, type RunProgress } from '@fedtsa/protocol/progress';
import { clusterSeries, placePoints, polylinePoints, type ChartBox } from './accuracy-chart.ts';
import { formatProbability, type RankedClass } from './prediction.ts';
import { load, save } from './storage.ts';
import type { HeldModel } from './try-model.ts';
import './participant-view.css';

const SVG = 'http://www.w3.org/2000/svg';
const BOX: ChartBox = { width: 320, height: 160, padding: 32 };
/** Classes listed under a prediction. */
const SHOWN_CLASSES = 5;

/** State the end-to-end tests read (window.__fedtsaParticipant). */
export interface ParticipantState {
  progress: RunProgress | undefined;
  /** The model to try: which cluster, its width, the last round it holds, and where it came from. */
  held: { trainedThrough: number; clusterIndex: number; widthRatio: number; source: 'task' | 'final' } | undefined;
  prediction: RankedClass[] | undefined;
  errors: string[];
}

const SECTION = `
  <h2>Your cluster's model</h2>
  <p id="participant-devices">Waiting for the first round to close…</p>
  <figure class="accuracy-figure">
    <svg id="accuracy-chart" viewBox="0 0 ${BOX.width} ${BOX.height}" role="img" aria-label="your cluster's accuracy by round"></svg>
    <figcaption id="accuracy-caption" class="help"></figcaption>
  </figure>
  <h3>Try the model</h3>
  <p id="try-about" class="help">Available once this device has received its cluster's model.</p>
  <div class="buttons">
    <label id="try-label" class="secondary file disabled">Choose an image<input id="try-image" type="file" accept="image/*" disabled /></label>
    <button id="download-model" type="button" class="secondary" disabled>Download the model</button>
  </div>
  <p id="prediction-top" class="prediction-top" hidden aria-live="polite"></p>
  <ol id="prediction" class="prediction" hidden></ol>
  <p class="help">The image stays on this device: the prediction is computed here. The download is a TensorFlow.js
    layers model (<code>.json</code> + <code>.weights.bin</code>, load with <code>tf.loadLayersModel</code>); its metadata names the task,
    its classes and the model's width. It outputs logits for inputs scaled to 0-1.</p>`;

const $ = <T extends Element = HTMLElement>(root: ParentNode, id: string) => root.querySelector(`#${id}`) as T;

/** Adds the participant's section to the page and keeps it up to date from `socket`. */
export function attachParticipantView(socket: Socket<ServerToClientEvents, ClientToServerEvents>, options: { runId: string; server: string }): ParticipantState {
  const state: ParticipantState = { progress: undefined, held: undefined, prediction: undefined, errors: [] };
  (window as unknown as { __fedtsaParticipant: ParticipantState }).__fedtsaParticipant = state;
  const section = document.createElement('section');
  section.id = 'participant';
  section.className = 'card';
  section.hidden = true;
  section.innerHTML = SECTION;
  document.querySelector('main')?.append(section);

  let identity: { clientId: string; clientSecret: string } | undefined;
  let task: TaskDefinition | undefined;
  let held: HeldModel | undefined;
  /** round -> the cluster this page trained for in it, for rounds the coordinator's record does not place it in. */
  const localClusters = new Map<number, number>();
  const fail = (what: string, err: unknown) => {
    const text = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    state.errors.push(text);
    return text;
  };

  // One request at a time; a refresh asked for meanwhile runs once after it.
  let inFlight: Promise<void> | undefined;
  let again = false;
  const refresh = (): void => {
    if (!identity) return;
    if (inFlight) { again = true; return; }
    const auth = identity;
    inFlight = fetchProgress(options.server, options.runId, auth)
      .then((p) => { state.progress = p; render(p); void maybeFetchFinal(p); })
      .catch((err: unknown) => { $(section, 'participant-devices').textContent = fail('Could not read the run\'s progress', err); })
      .finally(() => {
        inFlight = undefined;
        if (again) { again = false; refresh(); }
      });
  };

  function render(p: RunProgress): void {
    section.hidden = false;
    const last = p.history[p.history.length - 1];
    const mine = last?.clusters.find((c) => c.clusterIndex === (last.yourCluster ?? localClusters.get(last.round)));
    const devices = `${p.devices.live} device${p.devices.live === 1 ? '' : 's'} take${p.devices.live === 1 ? 's' : ''} part now (${p.devices.joined} joined in all)`;
    $(section, 'participant-devices').textContent = last
      ? `${devices}; ${last.participants} trained in round ${last.round} of ${p.rounds}${mine ? `, ${mine.members} of them in your cluster (${Math.round(mine.widthRatio * 100)}% width)` : ''}.`
      : `${devices}; no round has closed yet.`;
    drawChart(p);
  }

  function drawChart(p: RunProgress): void {
    const svg = $<SVGSVGElement>(section, 'accuracy-chart');
    svg.replaceChildren();
    const series = clusterSeries(p.history, localClusters);
    const placed = placePoints(series, BOX);
    const add = (name: string, attrs: Record<string, string | number>, text?: string) => {
      const el = document.createElementNS(SVG, name);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
      if (text !== undefined) el.textContent = text;
      svg.append(el);
      return el;
    };
    const { width, height, padding } = BOX;
    for (const level of [0, 0.5, 1]) {
      const y = padding + (1 - level) * (height - 2 * padding);
      add('line', { x1: padding, x2: width - padding, y1: y, y2: y, class: 'grid' });
      add('text', { x: padding - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, `${level * 100}%`);
    }
    if (placed.length > 1) add('polyline', { points: polylinePoints(placed), class: 'series' });
    for (const { x, y, point } of placed) {
      const dot = add('circle', { cx: x, cy: y, r: 4, class: 'point', 'data-round': point.round, 'data-accuracy': point.accuracy.toFixed(4) });
      dot.append(Object.assign(document.createElementNS(SVG, 'title'), { textContent: `round ${point.round}: ${(point.accuracy * 100).toFixed(1)}% (cluster ${point.clusterIndex + 1})` }));
      add('text', { x, y: height - 6, 'text-anchor': 'middle', class: 'axis' }, String(point.round));
    }
    const evaluatedBy = p.history.some((r) => r.clusters.some((c) => c.evaluatedBy === 'clients')) ? 'the model each round sent, scored by its devices on their held-out images' : "the round's model on the coordinator's test images";
    $(section, 'accuracy-caption').textContent = placed.length === 0
      ? 'No accuracy yet: it appears when a round with this device closes.'
      : `Accuracy of your cluster's model by round (round 0: the starting model); ${evaluatedBy}.`;
  }

  /** Makes `next` the model to try, unless the page holds one with more rounds in it. */
  function hold(next: HeldModel, source: 'task' | 'final'): void {
    if (held && held.trainedThrough > next.trainedThrough) return;
    held = next;
    state.held = { trainedThrough: next.trainedThrough, clusterIndex: next.clusterIndex, widthRatio: next.widthRatio, source };
    section.hidden = false;
    $<HTMLInputElement>(section, 'try-image').disabled = false;
    $(section, 'try-label').classList.remove('disabled');
    $<HTMLButtonElement>(section, 'download-model').disabled = false;
    const [height, width] = next.task.inputShape;
    $(section, 'try-about').textContent = `Cluster ${next.clusterIndex + 1}'s model (${Math.round(next.widthRatio * 100)}% width), ` +
      (next.trainedThrough === 0 ? 'the starting model, before any training.' : `trained by your cluster's devices through round ${next.trainedThrough}` +
        (source === 'final' ? ', as the run left it.' : ' (the round this device trains now adds to it).')) +
      ` Pick an image: it is resized to ${height}x${width} as for training.`;
  }

  function holdTask(t: TrainingTask): void {
    if (!task) return;
    localClusters.set(t.round, t.clusterIndex);
    hold({ runId: t.runId, task, trainedThrough: t.round - 1, clusterIndex: t.clusterIndex, widthRatio: t.widthRatio, weights: decodeWeights(t.weights) }, 'task');
  }

  // Once the run is over, the cluster's final model (no task brings it): fetched once per closed round.
  let fetchedThrough = -1;
  async function maybeFetchFinal(p: RunProgress): Promise<void> {
    const over = p.state === 'completed' || p.state === 'stopped';
    if (!over || !identity || !task || p.yourCluster === null || p.completedRound <= fetchedThrough || p.completedRound <= (held?.trainedThrough ?? -1)) return;
    fetchedThrough = p.completedRound;
    try {
      hold(await fetchModel(options.server, options.runId, identity, task), 'final');
    } catch (err) {
      fail('Could not fetch your cluster\'s final model', err);
    }
  }

  const taskKey = `participant-task:${options.runId}`;
  socket.on('welcome', (w) => {
    identity = { clientId: w.clientId, clientSecret: w.clientSecret };
    task = w.task;
    void save(taskKey, w.task);
    refresh();
  });
  // Without a welcome (the run is over and the coordinator refuses the socket): the identity and task this page kept.
  void Promise.all([load<{ clientId: string; clientSecret: string }>(`identity:${options.runId}`), load<TaskDefinition>(taskKey)]).then(([kept, keptTask]) => {
    if (identity || !kept) return;
    identity = { clientId: kept.clientId, clientSecret: kept.clientSecret };
    task ??= keptTask;
    refresh();
  });
  socket.on('task', (t) => {
    try {
      holdTask(t);
    } catch (err) {
      fail('Could not keep the model', err);
    }
    refresh();
  });
  socket.on('round-closed', refresh);
  socket.on('run-state', refresh);

  $<HTMLInputElement>(section, 'try-image').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    const model = held;
    if (!file || !model) return;
    const top = $(section, 'prediction-top');
    top.hidden = false;
    top.textContent = `Reading ${file.name}…`;
    void import('./try-model.ts').then(({ predictImage }) => predictImage(model, file)).then((ranked) => {
      state.prediction = ranked;
      showPrediction(ranked, file.name);
    }).catch((err: unknown) => { top.textContent = fail(`Could not classify ${file.name}`, err); });
  });

  $(section, 'download-model').addEventListener('click', () => {
    const model = held;
    if (!model) return;
    void import('./try-model.ts').then(({ downloadModel }) => downloadModel(model))
      .catch((err: unknown) => { $(section, 'try-about').textContent = fail('Could not save the model', err); });
  });

  function showPrediction(ranked: RankedClass[], fileName: string): void {
    const [best] = ranked;
    if (!best) return;
    const top = $(section, 'prediction-top');
    top.replaceChildren(`${fileName}: `, Object.assign(document.createElement('strong'), { textContent: best.className }), ` (${formatProbability(best.probability)})`);
    const list = $(section, 'prediction');
    list.hidden = false;
    list.replaceChildren(...ranked.slice(0, SHOWN_CLASSES).map((r) => {
      const item = document.createElement('li');
      const bar = Object.assign(document.createElement('span'), { className: 'bar' });
      bar.style.width = `${(r.probability * 100).toFixed(1)}%`;
      item.append(Object.assign(document.createElement('span'), { className: 'name', textContent: r.className }), bar,
        Object.assign(document.createElement('span'), { className: 'value', textContent: formatProbability(r.probability) }));
      return item;
    }));
  }

  return state;
}

/** The run's progress as this participant may see it, checked against the protocol's schema. */
async function fetchProgress(server: string, runId: string, identity: { clientId: string; clientSecret: string }): Promise<RunProgress> {
  const res = await fetch(`${server}/api/runs/${encodeURIComponent(runId)}/progress`, {
    headers: { authorization: `Basic ${btoa(`${identity.clientId}:${identity.clientSecret}`)}` },
  });
  const body: unknown = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${(body as { code?: string }).code ?? ''} ${(body as { message?: string }).message ?? ''}`.trim());
  if (!isRunProgress(body)) throw new Error('the coordinator answered in an unexpected shape');
  return body;
}

/** This participant's cluster model as the coordinator holds it now, checked against the task's manifest at its width. */
async function fetchModel(server: string, runId: string, identity: { clientId: string; clientSecret: string }, task: TaskDefinition): Promise<HeldModel> {
  const res = await fetch(`${server}/api/runs/${encodeURIComponent(runId)}/progress/model`, {
    headers: { authorization: `Basic ${btoa(`${identity.clientId}:${identity.clientSecret}`)}` },
  });
  if (!res.ok) {
    const body = await res.json().catch(() => ({})) as { code?: string; message?: string };
    throw new Error(`${res.status} ${body.code ?? ''} ${body.message ?? ''}`.trim());
  }
  const clusterIndex = Number(res.headers.get(MODEL_HEADERS.clusterIndex));
  const widthRatio = Number(res.headers.get(MODEL_HEADERS.widthRatio));
  const trainedThrough = Number(res.headers.get(MODEL_HEADERS.trainedThrough));
  if (![clusterIndex, trainedThrough].every(Number.isInteger) || !(widthRatio > 0 && widthRatio <= 1)) {
    throw new Error(`the model came with cluster ${clusterIndex}, width ${widthRatio}, round ${trainedThrough}`);
  }
  const weights = new Float32Array(await res.arrayBuffer());
  const expected = parameterCount(modelManifest(taskSpec(task), widthRatio));
  if (weights.length !== expected) throw new Error(`the model has ${weights.length} values; task '${task.name}' at width ${widthRatio} has ${expected}`);
  return { runId, task, trainedThrough, clusterIndex, widthRatio, weights };
}
