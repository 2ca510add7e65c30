/**
 * The run view's "why this width" table: per cluster, its slow end against the round's budget
 * (protocol ClusterWidthReason, from the coordinator's runs/width-reasons.ts). Cost grows with
 * width^2, so on the halving ladder the next rung up takes four times as long.
 */
import type { ClusterWidthReason, DashboardRun } from '@fedtsa/protocol/dashboard';

const seconds = (s: number): string => (s < 10 ? s.toFixed(2) : s.toFixed(1)) + ' s';

/** One sentence: why this rung and not the next. */
export function widthWhy(r: ClusterWidthReason): string {
  if (r.fittingWidth < r.widthRatio) return `raised from ${r.fittingWidth}: a faster cluster never gets a narrower model than a slower one`;
  if (r.estimatedSec > r.roundBudgetSec) return 'the narrowest width, and still over the budget';
  if (r.widthRatio >= 1) return 'the full model fits the budget';
  return `fits the budget; width ${2 * r.widthRatio} would take ${seconds(4 * r.estimatedSec)}`;
}

export function renderWidthReasons(table: HTMLTableElement, run: DashboardRun): void {
  const reasons = run.clustering?.widthReasons ?? [];
  const members = new Map((run.clustering?.clusters ?? []).map((c) => [c.index, c.memberIds.length]));
  const key = JSON.stringify(reasons);
  if (table.dataset.key === key) return;
  table.dataset.key = key;
  table.hidden = reasons.length === 0;
  table.querySelector('tbody')?.replaceChildren(...reasons.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.cluster = String(r.clusterIndex);
    tr.dataset.width = String(r.widthRatio);
    const cells = [
      String(r.clusterIndex), String(members.get(r.clusterIndex) ?? '-'), String(r.widthRatio), r.slowEndSamplesPerSec.toFixed(1),
      `${seconds(r.estimatedSec)} of ${seconds(r.roundBudgetSec)}`, widthWhy(r),
    ];
    tr.append(...cells.map((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i < 5) td.className = 'num';
      return td;
    }));
    return tr;
  }));
}
