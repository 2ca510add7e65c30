/**
 * The operator's dashboard: sign in with the admin token, then follow every run live over the
 * '/dashboard' namespace, steer it through the REST control routes, and download its models
 * and metrics. The token stays in sessionStorage (gone with the tab); a link may carry it in
 * its #fragment, which never reaches a server log, and the page removes it from the address bar.
 */
import { io, type Socket } from 'socket.io-client';
import type { DashboardRun, DashboardServerEvents } from '@fedtsa/protocol/dashboard';
import { DASHBOARD_NAMESPACE } from '@fedtsa/protocol/events';
import { Api, ApiError, type ServerInfo } from './api.ts';
import { RunCharts } from './charts.ts';
import { DeviceTokensPanel } from './device-tokens.ts';
import { renderIncidents } from './incidents.ts';
import { drawQr, joinLink, setJoinBase } from './qr.ts';
import { renderRunTask, runTaskName } from './run-task-view.ts';
import { readSettingsForm, renderSettingsForm } from './settings-form.ts';
import { TaskPicker } from './task-picker.ts';
import { describePool } from './pool-view.ts';
import { renderClients, renderDownloads } from './run-panels.ts';
import { renderWidthReasons } from './width-reasons.ts';

const TOKEN_KEY = 'fedtsa-admin-token';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface DashboardState {
  signedIn: boolean;
  connected: boolean;
  runs: Record<string, DashboardRun>;
  selected: string | null;
  lastError: string | null;
  serverInfo: ServerInfo | null;
}
const state: DashboardState = { signedIn: false, connected: false, runs: {}, selected: null, lastError: null, serverInfo: null };
// For tests and for curious operators (read-only by convention).
(window as unknown as { __dashboard: DashboardState }).__dashboard = state;

let api: Api | null = null;
let socket: Socket<DashboardServerEvents> | null = null;
let charts: RunCharts | null = null;
let renderQueued = false;
let shownJoinLink = '';
const deviceTokens = new DeviceTokensPanel(() => api);
const taskPicker = new TaskPicker(() => api);
/** Task names already looked up again after a run named one the list did not have (registered since). */
const tasksAskedFor = new Set<string>();
const incidents = Object.assign(document.createElement('div'), { id: 'round-incidents', className: 'incidents', hidden: true });

function showMessage(text: string | null, isError = false): void {
  const el = $('message');
  el.hidden = text === null;
  el.textContent = text ?? '';
  el.classList.toggle('error', isError);
}

function takeTokenFromUrl(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1] as string));
    history.replaceState(null, '', location.pathname + location.search);
  }
}

function showLogin(error?: string): void {
  state.signedIn = false;
  socket?.close();
  socket = null;
  $('app').hidden = true;
  $('logout').hidden = true;
  $('run-select').hidden = true;
  $('login').hidden = false;
  const e = $('login-error');
  e.hidden = !error;
  e.textContent = error ?? '';
  setConn(false);
}

function setConn(on: boolean, text?: string): void {
  state.connected = on;
  const el = $('conn');
  el.dataset.state = on ? 'on' : 'off';
  el.textContent = text ?? (on ? 'live' : 'offline');
}

async function signIn(token: string): Promise<void> {
  const candidate = new Api(token);
  try {
    await candidate.listRuns();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('That token was refused (FEDTSA_ERR_UNAUTHORIZED).');
    } else {
      showLogin(`Cannot reach the coordinator: ${(err as Error).message}`);
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  api = candidate;
  state.signedIn = true;
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  charts ??= new RunCharts({
    density: $('chart-density'), accuracy: $('chart-accuracy'), loss: $('chart-loss'), timeline: $('chart-timeline'),
  });
  void api.serverInfo().then(showServerInfo).catch((err: Error) => showMessage(`Server info unavailable: ${err.message}`, true));
  void taskPicker.load().then(queueRender).catch((err: Error) => showMessage(`Task list unavailable: ${err.message}`, true));
  void api.settingsSchema().then((schema) => {
    renderSettingsForm($('settings-fields'), schema);
    const task = schema.properties?.task?.default;
    if (typeof task === 'string') taskPicker.setDefault(task);
  }).catch((err: Error) => showMessage(`Settings form unavailable: ${err.message}`, true));
  connect(token);
}

/**
 * Join links use the coordinator's public URL, and beside the QR code goes the certificate's
 * fingerprint: a phone shown a self-signed certificate's warning can compare it before proceeding.
 */
function showServerInfo(info: ServerInfo): void {
  state.serverInfo = info;
  setJoinBase(info.publicUrl);
  let note = document.getElementById('tls-fingerprint');
  if (!note) {
    note = Object.assign(document.createElement('p'), { id: 'tls-fingerprint', className: 'hint fingerprint' });
    $('join-qr').closest('.join')?.querySelector('.join-text')?.append(note);
  }
  // Already on https: the hint's start-up instructions are done; phones just take the link.
  if (info.tls !== null || info.publicUrl?.startsWith('https:')) $('join-hint').textContent = 'Phones: scan the code or open the https:// link.';
  note.hidden = info.tls === null;
  note.textContent = info.tls === null ? '' : info.tls.selfSigned
    ? `Self-signed certificate: phones show a warning once. Check that the SHA-256 fingerprint in the browser's certificate details is ${info.tls.fingerprint256}, then proceed.`
    : `Certificate SHA-256 fingerprint: ${info.tls.fingerprint256}`;
  queueRender();
}

function connect(token: string): void {
  socket = io(`${location.origin}${DASHBOARD_NAMESPACE}`, { auth: { adminToken: token }, transports: ['websocket', 'polling'] });
  socket.on('connect', () => {
    setConn(true);
    showMessage(null);
  });
  socket.on('disconnect', (reason) => {
    state.lastError = `disconnected: ${reason}`;
    setConn(false, 'reconnecting');
  });
  socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    if (err.data?.code === 'FEDTSA_ERR_UNAUTHORIZED') {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('That token was refused (FEDTSA_ERR_UNAUTHORIZED).');
      return;
    }
    state.lastError = `connect error: ${err.message}`;
    setConn(false, 'reconnecting');
  });
  socket.on('run', (run) => {
    state.runs[run.id] = run;
    if (state.selected === null || !state.runs[state.selected]) state.selected = preferredRun();
    queueRender();
  });
}

/** The newest run that is still going, else the newest. */
function preferredRun(): string | null {
  const runs = Object.values(state.runs).sort((a, b) => b.createdAt - a.createdAt);
  return (runs.find((r) => r.state === 'running' || r.state === 'paused') ?? runs[0])?.id ?? null;
}

function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render(): void {
  const select = $<HTMLSelectElement>('run-select');
  const runs = Object.values(state.runs).sort((a, b) => b.createdAt - a.createdAt);
  select.hidden = runs.length === 0;
  const options = runs.map((r) => `${r.id}|${r.name}|${r.state}`).join(',');
  if (select.dataset.options !== options) {
    select.dataset.options = options;
    select.replaceChildren(...runs.map((r) => new Option(`${r.name} (${r.state})`, r.id, false, r.id === state.selected)));
  }
  select.value = state.selected ?? '';
  const run = state.selected ? state.runs[state.selected] : undefined;
  if (!run) return;

  $('run-name').textContent = run.name;
  const st = $('run-state');
  st.textContent = run.state;
  st.dataset.state = run.state;
  $('run-round').textContent = `round ${run.completedRound} of ${run.settings.rounds} completed` + (run.currentRound > run.completedRound ? `, round ${run.currentRound} open` : '');
  renderDeadline(run);
  $('run-pool').textContent = describePool(run.pool, run.settings.rounds);
  const can = { start: run.state === 'created', pause: run.state === 'running', resume: run.state === 'paused', stop: run.state !== 'stopped' && run.state !== 'completed' };
  for (const action of ['start', 'pause', 'resume', 'stop'] as const) $<HTMLButtonElement>(`ctl-${action}`).disabled = !can[action];

  // A run that admits device tokens only refuses its shared link: the Device tokens card has the links.
  $('join-qr').closest<HTMLElement>('.join')!.hidden = run.settings.joinMode === 'device-tokens';
  const link = joinLink(run.id, run.joinToken);
  if (link !== shownJoinLink) {
    shownJoinLink = link;
    $<HTMLInputElement>('join-link').value = link;
    void drawQr($<HTMLCanvasElement>('join-qr'), link, 160);
  }

  renderClients($('clients'), $('client-count'), run);
  renderWidthReasons($<HTMLTableElement>('width-reasons'), run);
  renderDownloads($('downloads'), run, () => api, (message) => showMessage(message, true));
  const taskName = runTaskName(run);
  const task = taskPicker.find(taskName);
  if (!task && !tasksAskedFor.has(taskName)) {
    tasksAskedFor.add(taskName);
    void taskPicker.load().then(queueRender).catch(() => undefined);
  }
  charts?.update(run, renderRunTask(run, task));
  renderIncidents(incidents, run.rounds);
  deviceTokens.show(run);
}

function renderDeadline(run: DashboardRun): void {
  const el = $('run-deadline');
  if (run.roundDeadline === null || run.state !== 'running') {
    el.textContent = '';
    return;
  }
  const s = Math.max(0, Math.round((run.roundDeadline - Date.now()) / 1000));
  el.textContent = `deadline in ${s} s`;
}

async function control(action: 'start' | 'pause' | 'resume' | 'stop'): Promise<void> {
  if (!api || !state.selected) return;
  if (action === 'stop' && !confirm('Stop this run? A stopped run cannot be resumed.')) return;
  try {
    const summary = await api.control(state.selected, action);
    const known = state.runs[summary.id];
    if (known) state.runs[summary.id] = { ...known, ...summary };
    queueRender();
  } catch (err) {
    state.lastError = (err as Error).message;
    showMessage(`Could not ${action} the run: ${(err as Error).message}`, true);
  }
}

function wire(): void {
  $('clients').closest('section')?.after(deviceTokens.section);
  $('task-fields').append(taskPicker.section);
  $('chart-timeline').closest('section')?.append(incidents);
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void signIn($<HTMLInputElement>('token').value.trim());
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    api = null;
    showLogin();
  });
  $<HTMLSelectElement>('run-select').addEventListener('change', (e) => {
    state.selected = (e.target as HTMLSelectElement).value;
    shownJoinLink = '';
    queueRender();
  });
  for (const action of ['start', 'pause', 'resume', 'stop'] as const) $(`ctl-${action}`).addEventListener('click', () => void control(action));
  $('copy-link').addEventListener('click', () => {
    void navigator.clipboard?.writeText($<HTMLInputElement>('join-link').value).then(() => showMessage('Join link copied.'));
  });
  $('new-run-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!api) return;
    const err = $('new-run-error');
    err.hidden = true;
    // Before the task list loads the select is empty, and the coordinator's default task applies.
    const settings = { ...readSettingsForm($('settings-fields')), ...(taskPicker.value ? { task: taskPicker.value } : {}) };
    api.createRun($<HTMLInputElement>('run-name-input').value.trim() || 'run', settings, $<HTMLInputElement>('start-now').checked)
      .then((run) => {
        // A run created without starting sends no live event until it changes: show it now.
        state.runs[run.id] ??= { ...run, rounds: [] };
        state.selected = run.id;
        queueRender();
        ($('new-run') as HTMLDetailsElement).open = false;
        showMessage(`Run ${run.name} created${run.state === 'running' ? ' and started' : ''}.`);
      })
      .catch((e2: Error & { code?: string }) => {
        err.hidden = false;
        err.textContent = `${e2.code ? `${e2.code}: ` : ''}${e2.message}`;
      });
  });
  // The deadline and "last seen" columns age without server events.
  setInterval(() => { if (state.signedIn) queueRender(); }, 1000);
}

wire();
takeTokenFromUrl();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void signIn(saved);
else showLogin();
