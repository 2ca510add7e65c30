/**
 * The selected run's one-use device tokens: create N, list them with their status and the client
 * that used each, revoke one, and a printable sheet with a QR code of each unused token's join
 * link. The coordinator keeps only hashes, so a sheet can show the tokens created in this tab only
 * (they are held in memory, never stored); after a reload the list still shows every token's status.
 */
import type { DashboardRun } from '@fedtsa/protocol/dashboard';
import type { Api, DeviceToken, NewDeviceToken } from './api.ts';
import { drawQr, joinLink } from './qr.ts';

const QR_PX = 132;
/** Polling the list while the run's clients change, at most this often. */
const REFRESH_MS = 3000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export class DeviceTokensPanel {
  readonly section: HTMLElement;
  private readonly count = el('input', { type: 'number', min: '1', max: '1000', value: '10', required: true, id: 'device-token-count-input' });
  private readonly label = el('input', { type: 'text', maxLength: 200, placeholder: 'e.g. lab bench 2', id: 'device-token-label-input' });
  private readonly error = el('p', { className: 'error', hidden: true });
  private readonly mode = el('span');
  private readonly summary = el('span', { className: 'count' });
  private readonly sheet = el('div', { className: 'token-sheet', id: 'device-token-sheet' });
  private readonly sheetBar = el('div', { className: 'buttons', hidden: true });
  private readonly tbody = el('tbody');
  private runId: string | null = null;
  private clientsKey = '';
  private tokens: DeviceToken[] = [];
  /** Tokens created in this tab, in clear, per run: the only ones a sheet can show. */
  private readonly fresh = new Map<string, NewDeviceToken[]>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: () => Api | null) {
    const form = el('form', { className: 'token-form' },
      el('label', { htmlFor: this.count.id, textContent: 'How many' }), this.count,
      el('label', { htmlFor: this.label.id, textContent: 'Label (optional)' }), this.label,
      el('button', { type: 'submit', textContent: 'Create tokens' }));
    form.addEventListener('submit', (e) => { e.preventDefault(); void this.create(); });
    const print = el('button', { type: 'button', className: 'secondary', textContent: 'Print sheet' });
    print.addEventListener('click', () => {
      document.body.classList.add('print-tokens');
      window.print();
    });
    window.addEventListener('afterprint', () => document.body.classList.remove('print-tokens'));
    this.sheetBar.append(print, el('span', { className: 'hint', textContent: 'Shown in this tab only: the coordinator keeps no copy of the tokens. Print or save the sheet now.' }));
    const table = el('table', { id: 'device-tokens' }, el('thead', {}, el('tr', {}, ...['id', 'label', 'status', 'used by', 'when', ''].map((h) => el('th', { textContent: h })))), this.tbody);
    this.section = el('section', { className: 'card', id: 'device-tokens-card' },
      el('h2', {}, 'Device tokens ', this.summary),
      el('p', { className: 'hint' }, 'One-use join links, one per device: the first device to open one joins with it, later ones are refused. Join mode of this run: ', this.mode, '.'),
      form, this.error, this.sheetBar, this.sheet, el('div', { className: 'table-wrap' }, table));
  }

  /** Called on every render of the selected run. */
  show(run: DashboardRun): void {
    const key = `${run.clients.length}|${run.clients.reduce((m, c) => Math.max(m, c.joinedAt), 0)}`;
    this.mode.textContent = String(run.settings.joinMode ?? 'shared');
    if (run.id !== this.runId) {
      this.runId = run.id;
      this.clientsKey = key;
      this.tokens = [];
      this.renderTable();
      void this.refresh();
    } else if (key !== this.clientsKey) {
      // A device may have joined with a token: refresh the statuses, not more often than REFRESH_MS.
      this.clientsKey = key;
      this.refreshTimer ??= setTimeout(() => { this.refreshTimer = undefined; void this.refresh(); }, REFRESH_MS);
    }
  }

  private async refresh(): Promise<void> {
    const api = this.api();
    const runId = this.runId;
    if (!api || !runId) return;
    try {
      const tokens = await api.listDeviceTokens(runId);
      if (runId !== this.runId) return;
      this.tokens = tokens;
      this.renderTable();
      await this.renderSheet();
    } catch (err) {
      this.showError(err as Error & { code?: string });
    }
  }

  private async create(): Promise<void> {
    const api = this.api();
    const runId = this.runId;
    if (!api || !runId) return;
    this.error.hidden = true;
    try {
      const created = await api.createDeviceTokens(runId, Number(this.count.value), this.label.value.trim());
      this.fresh.set(runId, [...(this.fresh.get(runId) ?? []), ...created.tokens]);
      await this.refresh();
    } catch (err) {
      this.showError(err as Error & { code?: string });
    }
  }

  private async revoke(id: string): Promise<void> {
    const api = this.api();
    if (!api || !this.runId || !confirm('Revoke this token? A device that has not joined with it yet cannot; one that has joined is refused at its next connection.')) return;
    try {
      await api.revokeDeviceToken(this.runId, id);
      await this.refresh();
    } catch (err) {
      this.showError(err as Error & { code?: string });
    }
  }

  private showError(err: Error & { code?: string }): void {
    this.error.hidden = false;
    this.error.textContent = `${err.code ? `${err.code}: ` : ''}${err.message}`;
  }

  private renderTable(): void {
    const unused = this.tokens.filter((t) => t.status === 'unused').length;
    this.summary.textContent = this.tokens.length ? `(${unused} unused of ${this.tokens.length})` : '';
    this.tbody.replaceChildren(...this.tokens.map((t) => {
      const revoke = el('button', { type: 'button', className: 'secondary', textContent: 'Revoke', disabled: t.status === 'revoked' });
      revoke.addEventListener('click', () => void this.revoke(t.id));
      const when = t.revokedAt ?? t.usedAt ?? t.createdAt;
      const tr = el('tr', {}, ...[t.id, t.label, t.status, t.usedBy ?? '-', new Date(when).toLocaleString()].map((text) => el('td', { textContent: text })), el('td', {}, revoke));
      tr.dataset.status = t.status;
      return tr;
    }));
  }

  /** A card per token created in this tab and still unused: label, QR code of its join link, the link itself. */
  private async renderSheet(): Promise<void> {
    const runId = this.runId as string;
    const status = new Map(this.tokens.map((t) => [t.id, t.status]));
    const unused = (this.fresh.get(runId) ?? []).filter((t) => status.get(t.id) === 'unused');
    const key = `${joinLink(runId, '')}|${unused.map((t) => t.id).join(',')}`;
    if (this.sheet.dataset.key === key) return;
    this.sheet.dataset.key = key;
    this.sheetBar.hidden = unused.length === 0;
    const cards = unused.map((t) => {
      const link = joinLink(runId, t.token);
      const canvas = el('canvas', { width: QR_PX, height: QR_PX });
      canvas.setAttribute('aria-label', `QR code of the join link for token ${t.id}`);
      const card = el('figure', { className: 'token-card' }, canvas,
        el('figcaption', {}, el('strong', { textContent: t.label || 'device' }), ` ${t.id}`, el('br'), el('code', { textContent: link })));
      card.dataset.tokenId = t.id;
      return { card, draw: () => drawQr(canvas, link, QR_PX) };
    });
    this.sheet.replaceChildren(...cards.map((c) => c.card));
    await Promise.all(cards.map((c) => c.draw()));
  }
}
