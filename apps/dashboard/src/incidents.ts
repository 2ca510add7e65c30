/**
 * The round timeline's incident list: what each round's safeguards refused, dropped, capped,
 * excluded or rolled back, most recent round first; nothing at all when no round had any.
 */
import type { RoundSummary } from '@fedtsa/protocol/dashboard';

/** Per round, enough to read the pattern; the REST /rounds route has every one. */
const MAX_PER_ROUND = 20;

export function renderIncidents(container: HTMLElement, rounds: readonly RoundSummary[]): void {
  const withIncidents = rounds.filter((r) => (r.incidents?.length ?? 0) > 0).sort((a, b) => b.round - a.round);
  const key = withIncidents.map((r) => `${r.round}:${r.incidents?.length}`).join(',');
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  container.hidden = withIncidents.length === 0;
  container.replaceChildren(...withIncidents.map((r) => {
    const incidents = r.incidents ?? [];
    const block = document.createElement('div');
    block.className = 'incidents-round';
    block.dataset.round = String(r.round);
    const head = document.createElement('h3');
    head.textContent = `Round ${r.round}: ${incidents.length} incident${incidents.length === 1 ? '' : 's'}`;
    const list = document.createElement('ul');
    for (const i of incidents.slice(0, MAX_PER_ROUND)) {
      const li = document.createElement('li');
      const kind = document.createElement('strong');
      kind.textContent = i.kind;
      const facts = [`cluster ${i.clusterIndex}`, i.clientId, i.code].filter((x): x is string => x !== undefined);
      li.append(kind, ` ${facts.join(' · ')}: ${i.message}`);
      list.append(li);
    }
    if (incidents.length > MAX_PER_ROUND) {
      const more = document.createElement('li');
      more.textContent = `and ${incidents.length - MAX_PER_ROUND} more (GET /api/runs/:id/rounds)`;
      list.append(more);
    }
    block.append(head, list);
    return block;
  }));
}
