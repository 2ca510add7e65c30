/** The sweep's files: reading the done cells of an out folder and writing the summary beside them. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonReport } from './report.ts';
import { CENTRALISED, type PlanEntry } from './sweep-plan.ts';
import { curvesSvg, meanCurves } from './sweep-plot.ts';
import { sweepMarkdown } from './sweep-markdown.ts';
import { summarizeSweep, type CellMeta, type DoneCell, type SweepSummary } from './sweep-summary.ts';

const dirs = (dir: string, prefix: string) => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [])
  .filter((d) => d.isDirectory() && d.name.startsWith(prefix) && !d.name.endsWith('.partial')).map((d) => d.name);

/** The cell's own result: the bound in a centralised cell, else the one strategy it ran. */
function cellResult(report: ComparisonReport, arm: string): DoneCell['result'] | undefined {
  return arm === CENTRALISED ? report.results.find((r) => r.name === CENTRALISED) : report.results.find((r) => r.name !== CENTRALISED) ?? report.results[0];
}

/** Every done cell (comparison.json present) under `<out>/cells`; `.partial` folders are not cells. */
export function readDoneCells(out: string): DoneCell[] {
  const cells: DoneCell[] = [];
  const root = join(out, 'cells');
  for (const alphaDir of dirs(root, 'alpha-')) {
    for (const seedDir of dirs(join(root, alphaDir), 'seed-')) {
      const seed = Number(seedDir.slice('seed-'.length));
      if (!Number.isInteger(seed)) continue;
      for (const arm of dirs(join(root, alphaDir, seedDir), '')) {
        const dir = join(root, alphaDir, seedDir, arm);
        if (!existsSync(join(dir, 'comparison.json'))) continue;
        const report = JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8')) as ComparisonReport;
        const result = cellResult(report, arm);
        if (!result) { console.warn(`${dir}/comparison.json has no results; left out of the summary`); continue; }
        const meta = existsSync(join(dir, 'cell.json')) ? JSON.parse(readFileSync(join(dir, 'cell.json'), 'utf8')) as CellMeta : undefined;
        cells.push({ alpha: alphaDir.slice('alpha-'.length), seed, arm, task: report.task, result, ...(meta ? { meta } : {}) });
      }
    }
  }
  return cells;
}

export const SUMMARY_FILES = ['summary.md', 'summary.json'];

/** Writes summary.md, summary.json and two plots per alpha; returns the files' names (relative to `out`). */
export function writeSummary(out: string, plan: PlanEntry[], arms: string[], targetFraction: number, command: string): { files: string[]; summary: SweepSummary; markdown: string } {
  const cells = readDoneCells(out);
  const summary = summarizeSweep({ cells, plan, arms, targetFraction });
  const markdown = sweepMarkdown(summary, command);
  writeFileSync(join(out, 'summary.md'), markdown);
  writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
  const files = [...SUMMARY_FILES];
  const order = [...new Set([...arms, ...cells.map((c) => c.arm)])];
  for (const a of summary.alphas) {
    const own = cells.filter((c) => (c.alpha === a.alpha || c.alpha === 'any') && a.seeds.includes(c.seed));
    const curves = meanCurves(own, order);
    const title = a.alpha === 'iid' ? 'IID' : `alpha ${a.alpha}`;
    const seeds = `each arm: mean over its seeds done of ${[...new Set(own.map((c) => c.seed))].sort((x, y) => x - y).join(', ') || 'none'}`;
    writeFileSync(join(out, `accuracy-rounds-alpha-${a.alpha}.svg`), curvesSvg(curves, 'round', `Test accuracy per round, ${title} (${seeds})`));
    writeFileSync(join(out, `accuracy-time-alpha-${a.alpha}.svg`), curvesSvg(curves, 'time', `Test accuracy against simulated time, ${title} (${seeds})`));
    files.push(`accuracy-rounds-alpha-${a.alpha}.svg`, `accuracy-time-alpha-${a.alpha}.svg`);
  }
  return { files, summary, markdown };
}
