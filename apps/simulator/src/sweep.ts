#!/usr/bin/env -S node --import tsx
/**
 * npm run sweep: every arm x alpha x seed as one simulate process per cell, each cached in its
 * own folder (sweep-plan.ts has the layout), so a sweep resumes across sessions: done cells are
 * skipped and never rerun or overwritten; a cell is written to `<cell>.partial/` and renamed
 * only when its process succeeds. After the run (and, with --commit, after each cell) the
 * summary is rewritten from the cells present (sweep-files.ts).
 *
 *   npm run sweep -- --commit
 *   npm run sweep -- --plan 0.5:1 --arms fedavg-small,centralised --out /tmp/s -- --preset demo --rounds 2
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { readDoneCells, writeSummary } from './sweep-files.ts';
import { ARMS, cellArgs, checkExtraArgs, DEFAULT_PLAN, parsePlan, planCells, selectArms, type Cell } from './sweep-plan.ts';

const USAGE = `usage: npm run sweep -- [options] [-- extra simulate args]
  --out DIR              results folder (default results/baselines); cells in DIR/cells/alpha-A/seed-N/ARM
  --plan PLAN            alphas and seeds (default ${DEFAULT_PLAN}); N or N-M, "0.5:1,3" = seeds 1 and 3
  --arms A,B             arms to run (default all): ${ARMS.map((a) => a.name).join(', ')}
  --commit               after each cell: rewrite the summary, git add the cell and summary, git commit them
                         (in the repo holding DIR; only those paths)
  --summary-only         run nothing; rewrite DIR/summary.md, summary.json and the plots from the cells present
  --dry-run              list the cells to run and skip, with the time estimated from done cells
  --target-fraction F    time to target: F x the centralised bound's mean final accuracy (default 0.9)
  -- ARGS                appended to every cell's command (npm run simulate -- --preset default --alpha A
                         --seed N --strategy S ARGS), so e.g. "-- --preset demo --rounds 2" overrides the preset`;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
/** A path as the user would type it: relative to the current folder when inside it. */
const shown = (p: string) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.');
const fmtSec = (s: number) => (s >= 5400 ? `${(s / 3600).toFixed(1)} h` : s >= 120 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(0)} s`);

interface Options {
  out: string; plan: string; arms?: string; commit: boolean; summaryOnly: boolean; dryRun: boolean; targetFraction: number; extra: string[];
}

function parseOptions(argv: string[]): Options {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const extra = dash < 0 ? [] : argv.slice(dash + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      out: { type: 'string', default: 'results/baselines' }, plan: { type: 'string', default: DEFAULT_PLAN }, arms: { type: 'string' },
      commit: { type: 'boolean', default: false }, 'summary-only': { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false },
      'target-fraction': { type: 'string', default: '0.9' }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  const targetFraction = Number(values['target-fraction']);
  if (!(targetFraction > 0 && targetFraction <= 1)) throw new Error(`--target-fraction must be in (0, 1], got '${values['target-fraction']}'`);
  checkExtraArgs(extra);
  return {
    out: resolve(values.out), plan: values.plan, ...(values.arms !== undefined ? { arms: values.arms } : {}), commit: values.commit,
    summaryOnly: values['summary-only'], dryRun: values['dry-run'], targetFraction, extra,
  };
}

/** Seconds per cell by arm from the done cells' cell.json, for estimates. */
function secondsByArm(out: string): Map<string, number[]> {
  const by = new Map<string, number[]>();
  for (const c of readDoneCells(out)) if (c.meta) by.set(c.arm, [...(by.get(c.arm) ?? []), c.meta.seconds]);
  return by;
}

function estimate(cells: Cell[], by: Map<string, number[]>): { seconds: number; unknown: number } {
  const all = [...by.values()].flat();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  let seconds = 0, unknown = 0;
  for (const c of cells) {
    const own = by.get(c.arm.name) ?? [];
    if (own.length > 0) seconds += mean(own);
    else if (all.length > 0) { seconds += mean(all); unknown++; } else unknown++;
  }
  return { seconds, unknown };
}

async function gitHead(): Promise<string> {
  try { return (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })).stdout.trim(); } catch { return 'unknown'; }
}

/** git add + commit of exactly these paths (relative to `cwd`, in the repo holding it), retried while another process holds .git/index.lock. */
async function gitCommit(cwd: string, paths: string[], message: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run('git', ['add', '--', ...paths], { cwd });
      await run('git', ['commit', '-q', '-m', message, '--', ...paths], { cwd });
      return;
    } catch (e) {
      const text = `${(e as { stderr?: string }).stderr ?? ''}${(e as Error).message}`;
      if (!text.includes('index.lock') || attempt >= 6) throw new Error(`git commit failed: ${text.trim().split('\n').slice(-3).join(' ')}`);
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

/** One simulate process into `<cell>.partial`, renamed to the cell on success. Returns its seconds, or a failure. */
async function runCell(cell: Cell, out: string, extra: string[], commit: string): Promise<{ seconds: number; kept?: true } | { error: string }> {
  const dir = join(out, cell.path);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const args = cellArgs(cell, extra);
  const logFile = join(partial, 'log.txt');
  const fd = openSync(logFile, 'w');
  const started = performance.now();
  const code = await new Promise<number | null>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/simulator/src/cli.ts', ...args, '--out', partial], { cwd: ROOT, stdio: ['ignore', fd, fd] });
    child.on('error', () => done(-1));
    child.on('exit', (c) => done(c));
  }).finally(() => closeSync(fd));
  const seconds = Math.round((performance.now() - started) / 1000);
  if (code !== 0 || !existsSync(join(partial, 'comparison.json'))) return { error: `exit ${code}, log in ${shown(logFile)}` };
  const command = `npm run simulate -- ${[...args, '--out', 'CELL'].join(' ')}`;
  writeFileSync(join(partial, 'cell.json'), `${JSON.stringify({ commit, command, seconds, finishedAt: new Date().toISOString().slice(0, 19) + 'Z' })}\n`);
  rmSync(logFile);
  // Another sweep may have finished the same cell meanwhile: a done cell is never overwritten.
  if (existsSync(join(dir, 'comparison.json'))) { rmSync(partial, { recursive: true }); return { seconds, kept: true }; }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return { seconds };
}

/** One sweep per out folder: two would run the same cell in the same `.partial` folder. A lock of a dead process is taken over. */
function lockOut(out: string): void {
  const lock = join(out, '.sweep.lock');
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  const holder = existsSync(lock) ? Number(readFileSync(lock, 'utf8')) : NaN;
  if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) throw new Error(`another sweep (pid ${holder}) is running on ${out}; wait for it or stop it`);
  mkdirSync(out, { recursive: true });
  writeFileSync(lock, String(process.pid));
  process.once('exit', () => rmSync(lock, { force: true }));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const plan = parsePlan(opts.plan);
  const arms = selectArms(opts.arms);
  const armNames = (opts.arms === undefined ? ARMS : arms).map((a) => a.name);
  const command = `npm run sweep -- ${process.argv.slice(2).join(' ')}`.trim();
  const summarize = () => writeSummary(opts.out, plan, armNames, opts.targetFraction, command);
  if (opts.summaryOnly) {
    const { files, markdown } = summarize();
    console.log(markdown);
    log(`wrote ${files.map((f) => shown(join(opts.out, f))).join(', ')}`);
    return;
  }
  const cells = planCells(plan, arms);
  const isDone = (c: Cell) => existsSync(join(opts.out, c.path, 'comparison.json'));
  const todo = cells.filter((c) => !isDone(c));
  const by = secondsByArm(opts.out);
  const est = estimate(todo, by);
  const estText = est.unknown === todo.length && by.size === 0 ? 'unknown (no done cell to time)'
    : `${fmtSec(est.seconds)}${est.unknown > 0 ? ` (${est.unknown} cell(s) of arms with no done cell counted at the other arms' mean)` : ''}`;
  if (opts.dryRun) {
    cells.forEach((c, i) => console.log(`[${i + 1}/${cells.length}] ${isDone(c) ? 'skip (done)' : 'run'} ${c.path}: npm run simulate -- ${cellArgs(c, opts.extra).join(' ')}`));
    console.log(`${todo.length} to run, ${cells.length - todo.length} done; estimated ${estText}`);
    return;
  }
  lockOut(opts.out);
  const commit = await gitHead();
  log(`${cells.length} cells in ${opts.out}: ${todo.length} to run, ${cells.length - todo.length} done; estimated ${estText}`);
  const failed: string[] = [];
  for (const [i, cell] of cells.entries()) {
    const tag = `[${i + 1}/${cells.length}] ${cell.arm.name} alpha ${cell.alpha} seed ${cell.seed}`;
    if (isDone(cell)) { log(`${tag}: done already, skipped`); continue; }
    log(`${tag}: running`);
    const outcome = await runCell(cell, opts.out, opts.extra, commit);
    if ('error' in outcome) { failed.push(`${cell.path}: ${outcome.error}`); log(`${tag}: FAILED (${outcome.error})`); continue; }
    if (outcome.kept) { log(`${tag}: another process finished this cell meanwhile; kept its result, dropped ours`); continue; }
    by.set(cell.arm.name, [...(by.get(cell.arm.name) ?? []), outcome.seconds]);
    const rest = estimate(cells.slice(i + 1).filter((c) => !isDone(c)), by);
    log(`${tag}: done in ${outcome.seconds} s, ETA ${fmtSec(rest.seconds)}${rest.unknown > 0 ? ` (${rest.unknown} cell(s) of untimed arms at the mean)` : ''}`);
    if (opts.commit) {
      const { files } = summarize();
      try {
        await gitCommit(opts.out, [cell.path, ...files], `sweep: ${cell.arm.name} alpha ${cell.alpha} seed ${cell.seed} (${outcome.seconds} s)`);
        log(`${tag}: committed`);
      } catch (e) { failed.push(`${cell.path}: ${(e as Error).message}`); log(`${tag}: ${(e as Error).message}`); }
    }
  }
  const { files } = summarize();
  log(`wrote ${files.map((f) => shown(join(opts.out, f))).join(', ')}`);
  if (failed.length > 0) {
    console.error(`${failed.length} cell(s) failed:\n${failed.map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  console.error(USAGE);
  process.exit(1);
});
