/** The run view's clients table and download buttons. */
import type { Api } from './api.ts';
import type { DashboardRun } from '@fedtsa/protocol/dashboard';

function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function cell(text: string, cls?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/** The clients table, fastest first, and its count line. */
export function renderClients(table: HTMLElement, count: HTMLElement, run: DashboardRun): void {
  const clients = [...run.clients].sort((a, b) => b.samplesPerSec - a.samplesPerSec);
  // The coordinator lists live clients only: those gone longer than its grace period drop off.
  count.textContent = `(${clients.filter((c) => c.status === 'connected' || c.status === 'training').length} connected, ${clients.length} listed)`;
  table.querySelector('tbody')?.replaceChildren(...clients.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.clientId = c.id;
    tr.append(cell(c.id.slice(0, 10)), cell(c.label), cell(c.backend), cell(c.samplesPerSec.toFixed(1), 'num'),
      cell(c.clusterIndex === null ? '-' : String(c.clusterIndex)), cell(c.widthRatio === null ? '-' : String(c.widthRatio)),
      cell(c.status), cell(ago(c.lastSeen)));
    return tr;
  }));
}

function button(text: string, onClick: () => Promise<void> | undefined, disabled: boolean, onError: (message: string) => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = text;
  b.disabled = disabled;
  b.addEventListener('click', () => {
    b.disabled = true;
    Promise.resolve(onClick()).catch((err: Error) => onError(`Download failed: ${err.message}`)).finally(() => { b.disabled = false; });
  });
  return b;
}

/** A download button per cluster model and one for the metrics CSV, redrawn when the clusters or the round change. */
export function renderDownloads(container: HTMLElement, run: DashboardRun, api: () => Api | null, onError: (message: string) => void): void {
  const key = `${run.id}|${run.completedRound}|${run.clustering?.clusters.map((c) => `${c.index}:${c.widthRatio}`).join(',') ?? ''}`;
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  const buttons = (run.clustering?.clusters ?? []).map((c) => button(`Model, cluster ${c.index} (w ${c.widthRatio})`, () => api()?.downloadModel(run.id, c.index), run.completedRound === 0, onError));
  buttons.push(button('Metrics (CSV)', () => api()?.downloadCsv(run.id), false, onError));
  container.replaceChildren(...buttons);
}
