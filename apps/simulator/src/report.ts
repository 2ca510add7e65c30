/** Comparison outputs: a Markdown table, the raw JSON and an accuracy-per-round SVG plot. */
import type { SimulationConfig } from './config.ts';
import type { Experiment } from './experiment.ts';
import type { StrategyResult } from './run.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}`;

export interface ComparisonReport {
  command: string;
  /** The task's name and shape, e.g. "fashion-mnist (28x28x1, 10 classes)". */
  task: string;
  /** What the test accuracy was measured on (Experiment.evaluation). */
  evaluation: string;
  /** What the run adapted to its data (client samples, a skipped strategy, a resize). */
  notes?: string[];
  config: SimulationConfig;
  machine: string;
  clusters: { index: number; widthRatio: number; members: number; tiers: Record<string, number>; capabilityRange: [number, number] }[];
  kdeBoundaries: number[];
  results: StrategyResult[];
}

export function describeTask(exp: Experiment): string {
  const [h, w, c] = exp.spec.inputShape;
  return `${exp.task?.name ?? 'a task'} (${h}x${w}x${c}, ${exp.spec.numClasses} classes)`;
}

export function describeClusters(exp: Experiment): ComparisonReport['clusters'] {
  const tierById = new Map(exp.profiles.map((p, i) => [p.id, exp.tierOf[i] as string]));
  return exp.setup.clusters.map((c) => {
    const tiers: Record<string, number> = {};
    for (const id of c.memberIds) tiers[tierById.get(id) as string] = (tiers[tierById.get(id) as string] ?? 0) + 1;
    const kc = exp.setup.kde.clusters[c.index] as { minCapability: number; maxCapability: number };
    return { index: c.index, widthRatio: c.widthRatio, members: c.memberIds.length, tiers, capabilityRange: [kc.minCapability, kc.maxCapability] };
  });
}

export function toMarkdown(r: ComparisonReport): string {
  const widths = r.clusters.map((c) => c.widthRatio);
  const lines = [
    `# Comparison on ${r.task}`,
    '',
    `Command: \`${r.command}\``,
    '',
    `Machine: ${r.machine}`,
    '',
    ...(r.notes?.length ? [...r.notes.map((n) => `Note: ${n}.`), ''] : []),
    `${r.config.numClients} clients, Dirichlet alpha ${r.config.alpha}, ${r.config.clientSamples} client samples, ` +
      `${r.config.rounds} rounds x ${r.config.localEpochs} local epochs, ${r.config.optimizer} lr ${r.config.learningRate}, batch ${r.config.batchSize}, seed ${r.config.seed}.`,
    '',
    '## Clusters (KDE over log capability)',
    '',
    '| cluster | width | members | tiers | capability (samples/s) |',
    '|---|---|---|---|---|',
    ...r.clusters.map((c) => `| ${c.index} | ${c.widthRatio} | ${c.members} | ${Object.entries(c.tiers).map(([k, v]) => `${k} ${v}`).join(', ')} | ${c.capabilityRange[0].toFixed(0)}-${c.capabilityRange[1].toFixed(0)} |`),
    '',
    `Boundaries: ${r.kdeBoundaries.map((b) => b.toFixed(0)).join(', ')} samples/s.`,
    '',
    `## Final test accuracy (%, whole test set: ${r.evaluation})`,
    '',
    `| strategy | member-weighted mean | ${widths.map((w, i) => `cluster ${i} (w ${w})`).join(' | ')} | wall time (s) |`,
    `|---|---|${widths.map(() => '---').join('|')}|---|`,
  ];
  for (const s of r.results) {
    const cells = s.name === 'centralised'
      ? widths.map(() => pct(s.final.meanAccuracy))
      : s.final.clusters.map((c) => `${pct(c.accuracy)}${c.widthRatio !== widths[c.clusterIndex] ? ` (w ${c.widthRatio})` : ''}`);
    lines.push(`| ${s.name}${s.name === 'centralised' ? ' (width 1, union of client data)' : ''} | ${pct(s.final.meanAccuracy)} | ${cells.join(' | ')} | ${(s.wallMs / 1000).toFixed(0)} |`);
  }
  const withGlobal = r.results.filter((s) => s.final.globalAccuracy !== undefined);
  if (withGlobal.length > 0) {
    lines.push('', `The width-1 global model (what ${withGlobal.map((s) => s.name).join(', ')} report in their papers): ` +
      withGlobal.map((s) => `${s.name} ${pct(s.final.globalAccuracy as number)}%`).join(', ') + '.');
  }
  lines.push('', '## Time per round (s, mean over rounds)', '', '| strategy | client training | Stage 1 | Stage 2 generation | Stage 2 mutual learning (FedDF: distillation) |', '|---|---|---|---|---|');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) / 1000;
  for (const s of r.results.filter((x) => x.name !== 'centralised')) {
    const stat = (key: string) => mean(s.rounds.map((x) => x.serverStepStats[key] ?? 0));
    lines.push(`| ${s.name} | ${mean(s.rounds.map((x) => x.trainMs)).toFixed(1)} | ${mean(s.rounds.map((x) => x.stage1Ms)).toFixed(3)} | ${stat('generationMs').toFixed(1)} | ${(stat('mutualLearningMs') + stat('distillationMs')).toFixed(1)} |`);
  }
  lines.push('', 'Client training runs the virtual clients on the worker threads, so it measures simulation speed, not device time.');
  lines.push('', `Per-round curves use the first ${r.config.evalSamplesPerRound} test images; see accuracy.svg and comparison.json.`, '');
  return lines.join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function toSvg(r: ComparisonReport): string {
  const W = 720, H = 420, L = 60, R = 190, T = 30, B = 50;
  const rounds = r.config.rounds;
  const all = r.results.flatMap((s) => s.rounds.map((x) => x.meanAccuracy));
  const yMin = Math.max(0, Math.floor(Math.min(...all) * 10) / 10 - 0.05);
  const yMax = Math.min(1, Math.ceil(Math.max(...all) * 10) / 10);
  const x = (round: number) => L + ((round - 1) / Math.max(1, rounds - 1)) * (W - L - R);
  const y = (acc: number) => T + (1 - (acc - yMin) / (yMax - yMin)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="18" font-size="14">Test accuracy per round (member-weighted mean)</text>`,
  ];
  for (let t = Math.ceil(yMin * 20) / 20; t <= yMax + 1e-9; t += 0.05) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`, `<text x="${L - 40}" y="${y(t) + 4}">${(t * 100).toFixed(0)}%</text>`);
  }
  for (let k = 1; k <= rounds; k++) parts.push(`<text x="${x(k) - 4}" y="${H - B + 18}">${k}</text>`);
  parts.push(`<text x="${(L + W - R) / 2 - 20}" y="${H - 12}">round</text>`);
  r.results.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const pts = s.rounds.map((rr) => `${x(rr.round).toFixed(1)},${y(rr.meanAccuracy).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" ${s.name === 'centralised' ? 'stroke-dasharray="6 4"' : ''} points="${pts}"/>`);
    parts.push(`<rect x="${W - R + 15}" y="${T + i * 20}" width="14" height="4" fill="${color}"/>`, `<text x="${W - R + 35}" y="${T + i * 20 + 6}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Mean and sample standard deviation of final accuracies across seeds, per strategy. */
export function summarizeSeeds(reports: ComparisonReport[]): string {
  const names = [...new Set(reports.flatMap((r) => r.results.map((x) => x.name)))];
  const stats = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
    return `${pct(m)} +- ${pct(sd)}`;
  };
  const clusterCount = Math.max(...reports.map((r) => r.clusters.length));
  const lines = [
    `# Comparison on ${reports[0]?.task ?? ''} over seeds ${reports.map((r) => r.config.seed).join(', ')}`,
    '',
    `Command: \`${reports[0]?.command ?? ''}\``,
    '',
    `Final test accuracy (%, whole test set: ${reports[0]?.evaluation ?? ''}), mean +- standard deviation over seeds.`,
    '',
    `| strategy | member-weighted mean | ${Array.from({ length: clusterCount }, (_, k) => `cluster ${k}`).join(' | ')} |`,
    `|---|---|${Array.from({ length: clusterCount }, () => '---').join('|')}|`,
  ];
  for (const name of names) {
    const runs = reports.map((r) => r.results.find((x) => x.name === name)).filter((x): x is StrategyResult => x !== undefined);
    const perCluster = Array.from({ length: clusterCount }, (_, k) =>
      stats(runs.map((x) => (x.name === 'centralised' ? x.final.meanAccuracy : x.final.clusters[k]?.accuracy ?? NaN))));
    lines.push(`| ${name} | ${stats(runs.map((x) => x.final.meanAccuracy))} | ${perCluster.join(' | ')} |`);
  }
  lines.push('', `Per seed: ${reports.map((r) => `seed-${r.config.seed}/comparison.md`).join(', ')}.`, '');
  if (reports.length > 1) lines.push(...perSeedTables(reports, names, stats));
  return lines.join('\n');
}

/**
 * The member-weighted mean per seed, and, when 'fedtsa' ran, its paired difference with every
 * other strategy on the same seed (same partition, init and sampling), so the spread of the
 * difference is not inflated by the spread between seeds.
 */
function perSeedTables(reports: ComparisonReport[], names: string[], stats: (xs: number[]) => string): string[] {
  const seeds = reports.map((r) => r.config.seed);
  const mean = (r: ComparisonReport, name: string) => r.results.find((x) => x.name === name)?.final.meanAccuracy;
  const lines = ['Per seed (member-weighted mean, %):', '', `| strategy | ${seeds.map((s) => `seed ${s}`).join(' | ')} |`, `|---|${seeds.map(() => '---').join('|')}|`];
  for (const name of names) lines.push(`| ${name} | ${reports.map((r) => { const m = mean(r, name); return m === undefined ? '-' : pct(m); }).join(' | ')} |`);
  if (!names.includes('fedtsa')) return [...lines, ''];
  lines.push('', 'Paired difference, fedtsa minus each strategy on the same seed (points):', '',
    `| fedtsa minus | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean +- sd |`, `|---|${seeds.map(() => '---').join('|')}|---|`);
  for (const name of names.filter((n) => n !== 'fedtsa')) {
    const diffs = reports.map((r) => { const a = mean(r, 'fedtsa'); const b = mean(r, name); return a === undefined || b === undefined ? undefined : a - b; });
    const paired = diffs.filter((d): d is number => d !== undefined);
    lines.push(`| ${name} | ${diffs.map((d) => (d === undefined ? '-' : `${d >= 0 ? '+' : ''}${pct(d)}`)).join(' | ')} | ${paired.length ? stats(paired) : '-'} |`);
  }
  return [...lines, ''];
}
