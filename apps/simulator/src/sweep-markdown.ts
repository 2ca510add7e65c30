/** summary.md: the sweep's summary (sweep-summary.ts) as Markdown tables, one section per alpha. */
import type { AlphaSummary, ArmSummary, Stats, SweepSummary } from './sweep-summary.ts';

const pct = (x: number) => (x * 100).toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
const stats = (s: Stats, f: (x: number) => string = pct) => (s.n === 0 ? '-' : s.n === 1 ? `${f(s.mean)} (1 seed)` : `${f(s.mean)} +- ${pct(s.sd)}`);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const rule = (n: number) => `|${Array.from({ length: n }, () => '---').join('|')}|`;

function alphaTitle(alpha: string): string {
  return alpha === 'iid' ? 'IID split' : `Dirichlet alpha ${alpha}`;
}

function finalTable(a: AlphaSummary): string[] {
  return [
    '### Final test accuracy (%, member-weighted mean over clusters, whole test set)', '',
    row(['arm', ...a.seeds.map((s) => `seed ${s}`), 'mean +- sd', 'seeds done']), rule(a.seeds.length + 3),
    ...a.arms.map((r) => row([r.arm, ...a.seeds.map((s) => (r.perSeed[s] === undefined ? '-' : pct(r.perSeed[s]))), stats(r.final), `${r.final.n} of ${r.planned}`])),
    '', 'The centralised bound is one cell per seed (cells/alpha-any), the same for every alpha.', '',
    ...globalLine(a),
  ];
}

/** HeteroFL, FedRolex and FjORD also keep a width-1 global model, which their papers report. */
function globalLine(a: AlphaSummary): string[] {
  const withGlobal = a.arms.filter((r) => r.global !== undefined);
  if (withGlobal.length === 0) return [];
  return [`Their width-1 global model (what their papers report), %: ${withGlobal.map((r) => `${r.arm} ${stats(r.global as Stats)} (${(r.global as Stats).n} of ${r.final.n} seeds)`).join(', ')}.`, ''];
}

function pairedTable(a: AlphaSummary): string[] {
  const names = Object.keys(a.paired);
  if (names.length === 0) return ['### Paired difference', '', 'No seed has fedtsa and another arm done yet.', ''];
  return [
    '### Paired difference: fedtsa minus each arm on the same seed (points)', '',
    row(['fedtsa minus', ...a.seeds.map((s) => `seed ${s}`), 'mean +- sd', 'pairs']), rule(a.seeds.length + 3),
    ...names.map((n) => {
      const p = a.paired[n] as AlphaSummary['paired'][string];
      return row([n, ...a.seeds.map((s) => (p.perSeed[s] === undefined ? '-' : signed(p.perSeed[s]))), stats(p.stats, signed), p.stats.n]);
    }),
    '',
  ];
}

function clusterTable(a: AlphaSummary): string[] {
  const flags = a.arms.flatMap((r) => r.clusters.filter((c) => c.nearChanceSeeds.length > 0)
    .map((c) => `${r.arm} cluster ${c.clusterIndex} (seeds ${c.nearChanceSeeds.join(', ')})`));
  return [
    `### Per-cluster final accuracy (%): mean over seeds / minimum over seeds`, '',
    row(['arm', 'clusters (width: mean / min)']), rule(2),
    ...a.arms.filter((r) => r.clusters.length > 0).map((r) => row([r.arm, r.clusters.map((c) => `#${c.clusterIndex} w ${c.widthRatios.join('/')}: ${pct(c.mean)} / ${pct(c.min)}${c.nearChanceSeeds.length > 0 ? ' **near chance**' : ''}`).join('; ')])),
    '',
    flags.length === 0
      ? `No cluster ended below 1.5 x chance (${pct(1.5 * a.chance)}%, chance ${pct(a.chance)}%).`
      : `Below 1.5 x chance (${pct(1.5 * a.chance)}%): ${flags.join('; ')}.`,
    '',
  ];
}

const secs = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(0));

function timeCell(r: ArmSummary): [string, string, string] {
  const t = r.timeToTarget;
  if (!t || t.seeds === 0) return ['-', '-', '-'];
  if (t.reached === 0) return [`not reached (on ${t.seeds} of ${t.seeds} seeds)`, '-', '-'];
  const missing = t.seeds - t.reached;
  const note = missing > 0 ? ` (not reached on ${missing} of ${t.seeds} seeds)` : '';
  return [`${t.meanRound?.toFixed(1)}${note}`, secs(t.meanSimulatedSec), secs(t.meanDeviceSec)];
}

function timeTable(a: AlphaSummary, fraction: number): string[] {
  const head = a.target === undefined
    ? ['No centralised cell on these seeds yet: no target.']
    : [`Target: ${fraction} x the centralised bound's mean final accuracy (${pct(a.bound as number)}%) = ${pct(a.target)}%, on the per-round curve (the first test images).`];
  return [
    '### Time to target and simulated run time', '', ...head, '',
    row(['arm', 'first round at target (mean over seeds reaching it)', 'simulated s at that round', 'the same without server time', 'simulated s, whole run (mean)', 'of which server']), rule(6),
    ...a.arms.map((r) => row([r.arm, ...timeCell(r), secs(r.meanSimulatedSec), secs(r.meanServerSec)])),
    '', 'The centralised bound has no simulated clock (its rounds are epochs on one machine). Server time (Stage 1 and the server step) is measured',
    'on this 2-core machine while other jobs ran, so it is inflated and noisy; "without server time" is the devices and the network alone.', '',
  ];
}

function costTable(a: AlphaSummary): string[] {
  return [
    '### Sweep cost (compute seconds on this machine, cell.json)', '',
    row(['arm', 'cells done / planned', 'mean s per cell', 'total s', 'commits']), rule(5),
    ...a.arms.map((r) => row([r.arm, `${r.final.n} / ${r.planned}`, r.secondsPerCell.n === 0 ? '-' : r.secondsPerCell.mean.toFixed(0), r.totalSeconds.toFixed(0), r.commits.join(', ') || '-'])),
    '',
  ];
}

export function sweepMarkdown(s: SweepSummary, command: string): string {
  const lines = [
    '# Sweep: arms x alpha x seeds', '',
    `Regenerated by \`${command}\` from the cells present (cells/alpha-A/seed-N/ARM/comparison.json).`, '',
    `Cells: ${s.cellsDone} of ${s.cellsPlanned} planned done (${s.cellsPresent} present); ${(s.totalSeconds / 3600).toFixed(2)} compute hours in all.`, '',
  ];
  for (const a of s.alphas) {
    lines.push(`## ${alphaTitle(a.alpha)} (seeds ${a.seeds.join(', ')})`, '',
      `Plots: [accuracy per round](accuracy-rounds-alpha-${a.alpha}.svg), [accuracy against simulated time](accuracy-time-alpha-${a.alpha}.svg).`, '',
      ...finalTable(a), ...pairedTable(a), ...clusterTable(a), ...timeTable(a, s.targetFraction), ...costTable(a));
  }
  return lines.join('\n');
}
