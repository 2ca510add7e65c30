/**
 * Why fedtsa-stage1 trails fedavg-small: what data each cluster's model averages over (volume,
 * label coverage, skew), per alpha and seed, and with --run the isolating experiment:
 * fedtsa-stage1 with every cluster forced to fedavg-small's width (the narrowest cluster's), so
 * that the only difference from fedavg-small left is averaging per cluster instead of over all.
 *
 *   node --import tsx apps/simulator/src/cluster-data.ts [--seeds 1,2,3] [--alphas 0.5,0.1,iid] [--run]
 *     [--out results/stage1-vs-small] [--cells results/baselines/cells] [--preset default]
 *     [--safeguards on|off] [--only uniform,fedavg-small,fedtsa-stage1] [--tag NAME: tables-NAME.md]
 *
 * Without --run nothing is trained. Every call reads what exists: the uniform-width runs in
 * OUT/runs/ (--run adds the missing ones, one file per alpha and seed, so it resumes) and the
 * sweep's cells CELLS/alpha-A/seed-N/{fedavg-small,fedtsa-stage1}/comparison.json, which this
 * script never runs. It writes OUT/tables.md and OUT/cluster-data.json.
 *
 * --safeguards off (a diagnostic): the round's screen, caps and rollbacks made ineffective
 * (SAFEGUARDS_OFF); then the cells do not fit, so fedavg-small and fedtsa-stage1 run here too,
 * into OUT/runs-safeguards-off/, and the tables go to OUT/tables-safeguards-off.md.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { loadTaskData } from '@fedtsa/node-io/datasets/task-data';
import type { RoundPolicy } from '@fedtsa/core/round/policy';
import { PRESETS, type SimulationConfig } from './config.ts';
import { fitClientSamples, splitSizes } from './data-split.ts';
import { buildExperiment, type Experiment } from './experiment.ts';
import { WorkerPool } from './pool.ts';
import { runStrategy, type StrategyResult } from './run.ts';

// ---- The statistics (cluster-data.test.ts) ----

/** Per class, how many of `rows` carry it. */
export function labelCounts(labels: ArrayLike<number>, rows: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < rows.length; i++) {
    const label = labels[rows[i] as number];
    if (label === undefined || !Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new Error(`labelCounts: row ${rows[i]} has label ${label}, not one of 0..${numClasses - 1}`);
    }
    counts[label]! += 1;
  }
  return counts;
}

const total = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

/** Classes holding at least `minShare` of the samples (default 1%). */
export function labelCoverage(counts: readonly number[], minShare = 0.01): number {
  const n = total(counts);
  if (!(n > 0)) throw new Error('labelCoverage: no samples');
  return counts.filter((c) => c / n >= minShare).length;
}

/** Total-variation distance between the label distributions of two count vectors: half the L1 distance, in [0, 1]. */
export function totalVariation(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`totalVariation: ${a.length} classes against ${b.length}`);
  const na = total(a);
  const nb = total(b);
  if (!(na > 0 && nb > 0)) throw new Error('totalVariation: a distribution without samples');
  return a.reduce((s, x, k) => s + Math.abs(x / na - (b[k] as number) / nb), 0) / 2;
}

export interface GroupDataStats {
  members: number;
  samples: number;
  /** samples / all client samples. */
  share: number;
  /** Classes with at least 1% of the group's samples. */
  coverage: number;
  /** The group's label distribution against the whole client pool's. */
  tvFromPool: number;
  /** Per member: its own distance from the pool, and its own coverage, averaged over members (unweighted). */
  meanClientTv: number;
  meanClientCoverage: number;
}

/** What one model averages over: the union of its members' shards, and how skewed each member is. */
export function groupDataStats(labels: ArrayLike<number>, memberShards: readonly ArrayLike<number>[], numClasses: number): GroupDataStats {
  if (memberShards.length === 0) throw new Error('groupDataStats: a group without members');
  const pool = labelCounts(labels, Array.from({ length: labels.length }, (_, i) => i), numClasses);
  const perClient = memberShards.map((rows) => labelCounts(labels, rows, numClasses));
  const counts = perClient.reduce((acc, c) => acc.map((x, k) => x + (c[k] as number)), new Array<number>(numClasses).fill(0));
  return {
    members: memberShards.length,
    samples: total(counts),
    share: total(counts) / total(pool),
    coverage: labelCoverage(counts),
    tvFromPool: totalVariation(counts, pool),
    meanClientTv: total(perClient.map((c) => totalVariation(c, pool))) / perClient.length,
    meanClientCoverage: total(perClient.map((c) => labelCoverage(c))) / perClient.length,
  };
}

export interface ClusterDataRow extends GroupDataStats {
  /** A cluster's index, or 'all': the 30 clients fedavg-small averages over. */
  cluster: number | 'all';
  widthRatio: number;
}

/** Per cluster of the experiment, then the row of everybody (fedavg-small's one model at the narrowest width). */
export function clusterDataRows(exp: Pick<Experiment, 'clientData' | 'shards' | 'profiles' | 'setup'>): ClusterDataRow[] {
  const shardOf = new Map(exp.profiles.map((p, i) => [p.id, exp.shards[i] as Int32Array]));
  const { labels, numClasses } = exp.clientData;
  const rows: ClusterDataRow[] = exp.setup.clusters.map((c) => ({
    cluster: c.index, widthRatio: c.widthRatio,
    ...groupDataStats(labels, c.memberIds.map((id) => shardOf.get(id) as Int32Array), numClasses),
  }));
  const narrowest = Math.min(...exp.setup.clusters.map((c) => c.widthRatio));
  return [...rows, { cluster: 'all', widthRatio: narrowest, ...groupDataStats(labels, exp.shards, numClasses) }];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: no values');
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Mean and sample standard deviation (n - 1); sd is NaN for one value. */
export function meanSd(xs: readonly number[]): { mean: number; sd: number; n: number } {
  const mean = total(xs) / xs.length;
  const sd = Math.sqrt(total(xs.map((x) => (x - mean) ** 2)) / (xs.length - 1));
  return { mean, sd, n: xs.length };
}

/** Pearson's r; NaN when either side does not vary or there are fewer than 3 pairs. */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`pearson: ${xs.length} x values against ${ys.length} y values`);
  if (xs.length < 3) return NaN;
  const mx = total(xs) / xs.length;
  const my = total(ys) / ys.length;
  const sxy = total(xs.map((x, i) => (x - mx) * ((ys[i] as number) - my)));
  const sxx = total(xs.map((x) => (x - mx) ** 2));
  const syy = total(ys.map((y) => (y - my) ** 2));
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

// ---- The script ----

type Alpha = number | 'iid';
type Log = (m: string) => void;

/** One run this script made (and saved), with what it needs to be read back. */
interface SavedRun {
  alpha: Alpha;
  seed: number;
  /** 'uniform': fedtsa-stage1 at the narrowest width everywhere (UNIFORM_NOTE). Absent in the first files: 'uniform'. */
  kind?: RunKind;
  note: string;
  /** The clustering's own widths; a uniform run overrides them to `uniformWidth` for every cluster. */
  plannedWidths: number[];
  uniformWidth: number;
  /** 'off': every safeguard of the round switched off (SAFEGUARDS_OFF); absent = the default policy, as the sweep's cells. */
  safeguards?: 'off';
  commit: string;
  /** Files of apps/ and packages/ that differed from the commit when the run started (others edit them). */
  uncommitted: string[];
  result: StrategyResult;
}

type RunKind = 'uniform' | 'fedavg-small' | 'fedtsa-stage1';

interface Cell { result: StrategyResult; clusters: { index: number; widthRatio: number; members: number }[] }

/**
 * The diagnostic: the round's screen, caps and rollbacks made ineffective (thresholds no honest
 * update reaches), so that each average is plain FedAvg over every update. Not what users run.
 */
export const SAFEGUARDS_OFF: RoundPolicy = { normMultiple: 1e12, minCosine: -1, minConsensus: -1, claimMultiple: 1e12, maxClientShare: 1, changeMultiple: 1e12, firstChangeOfNorm: 1e12, changeFloorOfNorm: 0 };

const alphaName = (a: Alpha): string => String(a);
/** Below this a model is taken as collapsed (chance on 10 balanced classes is 10%). */
const CHANCE_LINE = 0.15;

function readCell(cellsDir: string, alpha: Alpha, seed: number, strategy: string): Cell | undefined {
  const file = join(cellsDir, `alpha-${alphaName(alpha)}`, `seed-${seed}`, strategy, 'comparison.json');
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8')) as { results: StrategyResult[]; clusters: Cell['clusters'] };
  const result = report.results.find((r) => r.name === strategy);
  return result ? { result, clusters: report.clusters } : undefined;
}

function git(command: string): string {
  try {
    return execSync(`git ${command}`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '(unknown)';
  }
}

/**
 * The code the runs use. FEDTSA_FROZEN_COMMIT: the script runs from an export of that commit
 * (git archive, as the sweep runs from a worktree frozen at one), so that edits others make in
 * the checkout meanwhile cannot reach the workers; otherwise HEAD and the files that differ from it.
 */
function codeSource(): { commit: string; uncommitted: string[] } {
  const frozen = process.env.FEDTSA_FROZEN_COMMIT;
  if (frozen) return { commit: `${frozen} (frozen export)`, uncommitted: [] };
  return { commit: git('rev-parse --short HEAD'), uncommitted: git('status --porcelain -- apps packages').split('\n').filter((l) => l.trim() !== '') };
}

export const UNIFORM_NOTE = 'fedtsa-stage1 with every cluster forced to the narrowest cluster width (exp.setup.clusters[].widthRatio overridden after buildExperiment): '
  + 'the same members, data, initial weights, seeds and config as fedavg-small, but FedAvg inside each cluster instead of over all clients';

async function runSaved(kind: RunKind, config: SimulationConfig, exp: Experiment, pool: WorkerPool, log: Log): Promise<SavedRun> {
  const plannedWidths = exp.setup.clusters.map((c) => c.widthRatio);
  const uniformWidth = Math.min(...plannedWidths);
  const forced: Experiment = kind !== 'uniform' ? exp : { ...exp, setup: { ...exp.setup, clusters: exp.setup.clusters.map((c) => ({ ...c, widthRatio: uniformWidth })) } };
  const { commit, uncommitted } = codeSource();
  const off = config.policy === SAFEGUARDS_OFF;
  log(`alpha ${alphaName(config.alpha)} seed ${config.seed}: ${kind === 'uniform' ? `fedtsa-stage1 at width ${uniformWidth} for every cluster (planned ${plannedWidths.join(', ')})` : kind}` +
    (off ? ', safeguards off' : '') + (uncommitted.length > 0 ? `; uncommitted: ${uncommitted.join(' | ')}` : ''));
  const result = await runStrategy(kind === 'uniform' ? 'fedtsa-stage1' : kind, config, forced, pool, log);
  const note = kind === 'uniform' ? UNIFORM_NOTE : `${kind} as the sweep runs it`;
  return { alpha: config.alpha, seed: config.seed, kind, note, plannedWidths, uniformWidth, ...(off ? { safeguards: 'off' as const } : {}), commit, uncommitted, result };
}

const pct = (x: number | undefined): string => (x === undefined ? '' : (x * 100).toFixed(1));
const pp = (x: number | undefined): string => (x === undefined ? '' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`);
const ms = (xs: number[], scale = 100): string => {
  if (xs.length === 0) return '';
  const { mean, sd, n } = meanSd(xs);
  return `${mean * scale >= 0 ? '+' : ''}${(mean * scale).toFixed(1)} ± ${Number.isNaN(sd) ? '-' : (sd * scale).toFixed(1)} (n ${n})`;
};
const table = (head: string[], rows: string[][]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

interface SeedEntry { alpha: Alpha; seed: number; data: ClusterDataRow[]; small?: Cell; stage1?: Cell; uniform?: SavedRun; mismatch: string[] }

function describe(entries: SeedEntry[], alphas: Alpha[]): string {
  const out: string[] = [];
  out.push('## Data per cluster (no training)', '', 'coverage = classes with >= 1% of the group\'s samples; TV = total-variation distance of the label distribution from the whole client pool\'s; ' +
    'client TV / client coverage = the same per member, averaged over the members. Row "all" = what fedavg-small averages over.', '');
  out.push(table(['alpha', 'seed', 'cluster', 'width', 'members', 'samples', 'share', 'coverage', 'TV', 'client TV', 'client coverage'],
    entries.flatMap((e) => e.data.map((r) => [alphaName(e.alpha), String(e.seed), String(r.cluster), String(r.widthRatio), String(r.members), String(r.samples),
      r.share.toFixed(3), String(r.coverage), r.tvFromPool.toFixed(3), r.meanClientTv.toFixed(3), r.meanClientCoverage.toFixed(1)]))));
  out.push('', '### Per alpha, over clusters and seeds (mean, min-max)', '');
  const range = (xs: number[], d: number): string => `${(total(xs) / xs.length).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
  out.push(table(['alpha', 'clusters', 'share', 'coverage', 'TV', 'client TV', 'client coverage'], alphas.map((a) => {
    const rows = entries.filter((e) => e.alpha === a).flatMap((e) => e.data.filter((r) => r.cluster !== 'all'));
    if (rows.length === 0) return [alphaName(a), '0', '', '', '', '', ''];
    return [alphaName(a), String(rows.length), range(rows.map((r) => r.share), 3), range(rows.map((r) => r.coverage), 1), range(rows.map((r) => r.tvFromPool), 3),
      range(rows.map((r) => r.meanClientTv), 3), range(rows.map((r) => r.meanClientCoverage), 1)];
  })));
  out.push('', '## Accuracy (%, member-weighted mean over clusters, whole test set)', '',
    'uniform = fedtsa-stage1 with every cluster at fedavg-small\'s width (this script, --run). split = uniform - fedavg-small (averaging per cluster instead of over all); ' +
    'width = stage1 - uniform (each cluster at its own width); total = stage1 - fedavg-small = split + width. Empty: the cell or run is missing.', '');
  // What the round's safeguards did over the run (honest clients: all false positives). Dropped updates shrink the data behind an
  // average; a rolled-back cluster keeps its round's starting model.
  const guards = (r: StrategyResult | undefined): string => {
    if (!r) return '-';
    const sum = (k: 'dropped' | 'capped' | 'rollbacks') => total(r.rounds.map((x) => x.safeguards?.[k] ?? 0));
    return `${sum('dropped')}/${sum('capped')}/${sum('rollbacks')}`;
  };
  out.push(table(['alpha', 'seed', 'fedavg-small', 'uniform', 'fedtsa-stage1', 'split (pp)', 'width (pp)', 'total (pp)', 'dropped/capped/rolled back (small; uniform; stage1)'], entries.map((e) => {
    const [s, u, t] = [e.small?.result.final.meanAccuracy, e.uniform?.result.final.meanAccuracy, e.stage1?.result.final.meanAccuracy];
    return [alphaName(e.alpha), String(e.seed), pct(s), pct(u), pct(t), pp(u !== undefined && s !== undefined ? u - s : undefined),
      pp(t !== undefined && u !== undefined ? t - u : undefined), pp(t !== undefined && s !== undefined ? t - s : undefined),
      `${guards(e.small?.result)}; ${guards(e.uniform?.result)}; ${guards(e.stage1?.result)}`];
  })));
  out.push('', '### Paired per seed, mean ± sd (pp)', '');
  out.push(table(['alpha', 'split = uniform - small', 'width = stage1 - uniform', 'total = stage1 - small'], alphas.map((a) => {
    const es = entries.filter((e) => e.alpha === a);
    const diff = (f: (e: SeedEntry) => number | undefined, g: (e: SeedEntry) => number | undefined): number[] =>
      es.flatMap((e) => { const x = f(e); const y = g(e); return x !== undefined && y !== undefined ? [x - y] : []; });
    const small = (e: SeedEntry) => e.small?.result.final.meanAccuracy;
    const uniform = (e: SeedEntry) => e.uniform?.result.final.meanAccuracy;
    const stage1 = (e: SeedEntry) => e.stage1?.result.final.meanAccuracy;
    return [alphaName(a), ms(diff(uniform, small)), ms(diff(stage1, uniform)), ms(diff(stage1, small))];
  })));
  out.push('', '## Per cluster: accuracy (%) against data', '', 'small = fedavg-small\'s one model (the same for every cluster); uniform - small in pp.', '');
  const clusterRows = entries.flatMap((e) => e.data.filter((r) => r.cluster !== 'all').map((r) => {
    const acc = (c: StrategyResult | undefined) => c?.final.clusters.find((k) => k.clusterIndex === r.cluster)?.accuracy;
    const [s, u, t] = [acc(e.small?.result), acc(e.uniform?.result), acc(e.stage1?.result)];
    return { e, r, s, u, t };
  }));
  out.push(table(['alpha', 'seed', 'cluster', 'width', 'samples', 'coverage', 'TV', 'client TV', 'stage1', 'uniform', 'small', 'uniform - small'],
    clusterRows.map(({ e, r, s, u, t }) => [alphaName(e.alpha), String(e.seed), String(r.cluster), String(r.widthRatio), String(r.samples), String(r.coverage),
      r.tvFromPool.toFixed(3), r.meanClientTv.toFixed(3), pct(t), pct(u), pct(s), pp(u !== undefined && s !== undefined ? u - s : undefined)])));
  out.push('', `### Which clusters lose: Pearson r over the clusters of all seeds, those at or above ${pct(CHANCE_LINE)}% in both runs (few points: read the sign, not the digits; empty: no spread)`, '');
  out.push(table(['alpha', 'clusters', 'r(uniform - small, share)', 'r(uniform - small, TV)', 'r(uniform - small, coverage)', 'r(uniform acc, stage1 acc)'], alphas.map((a) => {
    const rows = clusterRows.filter((c) => c.e.alpha === a && c.u !== undefined && c.s !== undefined && c.u >= CHANCE_LINE && c.s >= CHANCE_LINE);
    const d = rows.map((c) => (c.u as number) - (c.s as number));
    const both = rows.filter((c) => c.t !== undefined);
    const f = (x: number) => (Number.isNaN(x) ? '' : x.toFixed(2));
    return [alphaName(a), String(rows.length), f(pearson(d, rows.map((c) => c.r.share))), f(pearson(d, rows.map((c) => c.r.tvFromPool))),
      f(pearson(d, rows.map((c) => c.r.coverage))), f(pearson(both.map((c) => c.u as number), both.map((c) => c.t as number)))];
  })));
  out.push('', `### Clusters at chance (final accuracy < ${pct(CHANCE_LINE)}%; 10 classes; fedavg-small's one model counts once per cluster) and the median per-cluster difference`, '');
  out.push(table(['alpha', 'at chance: small', 'uniform', 'stage1', 'median uniform - small (pp), all clusters', 'the same, clusters above chance in both'], alphas.map((a) => {
    const rows = clusterRows.filter((c) => c.e.alpha === a);
    const atChance = (pick: (c: (typeof rows)[number]) => number | undefined) => {
      const xs = rows.map(pick).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? '' : `${xs.filter((x) => x < CHANCE_LINE).length} of ${xs.length}`;
    };
    const paired = rows.filter((c) => c.u !== undefined && c.s !== undefined);
    const alive = paired.filter((c) => (c.u as number) >= CHANCE_LINE && (c.s as number) >= CHANCE_LINE);
    const med = (xs: typeof rows) => (xs.length === 0 ? '' : `${pp(median(xs.map((c) => (c.u as number) - (c.s as number))))} (n ${xs.length})`);
    return [alphaName(a), atChance((c) => c.s), atChance((c) => c.u), atChance((c) => c.t), med(paired), med(alive)];
  })));
  // A check that costs nothing: a cluster planned at the narrowest width is the same model in both runs (same members, width, start and seeds).
  const same = clusterRows.filter((c) => c.r.widthRatio === c.e.uniform?.uniformWidth && c.u !== undefined && c.t !== undefined);
  if (same.length > 0) {
    const equal = same.filter((c) => c.u === c.t).length;
    out.push('', `Check: ${equal} of ${same.length} clusters planned at the narrowest width have the same final accuracy in fedtsa-stage1 and the uniform run (they must: the same model, members, data and seeds; ` +
      'the safeguards see the same updates).');
  }
  const missing = entries.flatMap((e) => [
    ...(e.small ? [] : [`fedavg-small alpha ${alphaName(e.alpha)} seed ${e.seed} (cell or run)`]),
    ...(e.stage1 ? [] : [`fedtsa-stage1 alpha ${alphaName(e.alpha)} seed ${e.seed} (cell or run)`]),
    ...(e.uniform ? [] : [`uniform-width stage1 alpha ${alphaName(e.alpha)} seed ${e.seed} (--run)`]),
    ...e.mismatch,
  ]);
  if (missing.length > 0) out.push('', '## Missing or mismatched', '', ...missing.map((m) => `- ${m}`));
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' }, alphas: { type: 'string', default: '0.5,0.1,iid' }, run: { type: 'boolean', default: false },
      out: { type: 'string', default: 'results/stage1-vs-small' }, cells: { type: 'string', default: 'results/baselines/cells' }, preset: { type: 'string', default: 'default' },
      safeguards: { type: 'string', default: 'on' }, only: { type: 'string' }, tag: { type: 'string' },
    },
  });
  const seeds = values.seeds.split(',').map((s) => {
    if (!/^\d+$/.test(s.trim())) throw new Error(`--seeds takes integers separated by commas, got '${values.seeds}'`);
    return Number(s);
  });
  const alphas: Alpha[] = values.alphas.split(',').map((a) => {
    const v = a.trim() === 'iid' ? 'iid' : Number(a);
    if (v !== 'iid' && !(v > 0)) throw new Error(`--alphas takes numbers > 0 or 'iid', got '${a}'`);
    return v;
  });
  if (values.safeguards !== 'on' && values.safeguards !== 'off') throw new Error(`--safeguards must be on or off, got '${values.safeguards}'`);
  // Off: the cells (default policy) do not fit, so fedavg-small and fedtsa-stage1 run here too, beside their own files.
  const off = values.safeguards === 'off';
  // --only: which of the missing runs this call makes (the slow fedtsa-stage1 can wait for a second call).
  const only = values.only?.split(',').map((k) => k.trim());
  const allowed: RunKind[] = off ? ['fedavg-small', 'uniform', 'fedtsa-stage1'] : ['uniform'];
  for (const k of only ?? []) if (!allowed.includes(k as RunKind)) throw new Error(`--only takes ${allowed.join(', ')} with --safeguards ${values.safeguards}, got '${k}'`);
  const preset = PRESETS[values.preset];
  if (!preset) throw new Error(`unknown --preset '${values.preset}'; choose one of ${Object.keys(PRESETS).join(', ')}`);
  const log: Log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const data = loadTaskData({ kind: 'fashion-mnist', dir: process.env.FEDTSA_DATASET_DIR });
  await useBackend('wasm'); // buildExperiment's initial weights, as cli.ts
  const runsDir = join(values.out, off ? 'runs-safeguards-off' : 'runs');
  mkdirSync(runsDir, { recursive: true });
  const entries: SeedEntry[] = [];
  for (const alpha of alphas) {
    for (const seed of seeds) {
      const base = { ...preset, alpha, seed, ...(off ? { policy: SAFEGUARDS_OFF } : {}) };
      const config = { ...base, clientSamples: fitClientSamples(base.clientSamples, false, splitSizes(base, data.train.count, data.test?.count), base).clientSamples };
      const exp = buildExperiment(config, data.task, data.train, data.test);
      const clusters = exp.setup.clusters.map((c) => ({ index: c.index, widthRatio: c.widthRatio, members: c.memberIds.length }));
      const entry: SeedEntry = { alpha, seed, data: clusterDataRows(exp), mismatch: [] };
      const kinds: RunKind[] = off ? ['fedavg-small', 'uniform', 'fedtsa-stage1'] : ['uniform'];
      const fileOf = (kind: RunKind) => join(runsDir, `alpha-${alphaName(alpha)}-seed-${seed}${kind === 'uniform' ? '' : `-${kind}`}.json`);
      const saved = new Map<RunKind, SavedRun>();
      for (const kind of kinds) if (existsSync(fileOf(kind))) saved.set(kind, JSON.parse(readFileSync(fileOf(kind), 'utf8')) as SavedRun);
      const missing = kinds.filter((k) => !saved.has(k) && (only === undefined || only.includes(k)));
      if (values.run && missing.length > 0) {
        const pool = await WorkerPool.create(exp.spec, exp.clientData, exp.test, config.workers);
        try {
          for (const kind of missing) {
            const run = await runSaved(kind, config, exp, pool, log);
            writeFileSync(fileOf(kind), `${JSON.stringify(run, null, 2)}\n`);
            log(`wrote ${fileOf(kind)}: mean ${pct(run.result.final.meanAccuracy)}% in ${(run.result.wallMs / 1000).toFixed(0)} s`);
            saved.set(kind, run);
          }
        } finally {
          await pool.close();
        }
      }
      entry.uniform = saved.get('uniform');
      const fromRun = (kind: RunKind): Cell | undefined => { const r = saved.get(kind); return r && { result: r.result, clusters }; };
      entry.small = off ? fromRun('fedavg-small') : readCell(values.cells, alpha, seed, 'fedavg-small');
      entry.stage1 = off ? fromRun('fedtsa-stage1') : readCell(values.cells, alpha, seed, 'fedtsa-stage1');
      for (const [name, cell] of [['fedavg-small', entry.small], ['fedtsa-stage1', entry.stage1]] as const) {
        const mine = clusters.map((c) => `${c.index}:${c.widthRatio}:${c.members}`).join(' ');
        const theirs = cell?.clusters.map((c) => `${c.index}:${c.widthRatio}:${c.members}`).join(' ');
        if (theirs !== undefined && theirs !== mine) entry.mismatch.push(`${name} alpha ${alphaName(alpha)} seed ${seed}: the cell's clusters (${theirs}) differ from this build's (${mine})`);
      }
      entries.push(entry);
    }
  }
  const command = `node --import tsx apps/simulator/src/cluster-data.ts ${process.argv.slice(2).join(' ')}`.trim();
  const source = off ? `every run made here with the round's safeguards off (SAFEGUARDS_OFF, a diagnostic: not what users run), in ${runsDir}`
    : `fedavg-small and fedtsa-stage1 read from the sweep's cells in ${values.cells}; uniform runs in ${runsDir}`;
  const md = [`# fedtsa-stage1 against fedavg-small: data per cluster, per alpha${off ? ' (safeguards off)' : ''}`, '',
    `Command: \`${command}\` (code ${codeSource().commit}, preset ${values.preset}); ${source}.`, '',
    `Uniform-width runs: ${UNIFORM_NOTE}.`, '', describe(entries, alphas)].join('\n');
  console.log(md);
  // --tag NAME: tables-NAME.md beside the default seeds' and alphas' tables.md.
  if (values.tag !== undefined && !/^[\w.-]+$/.test(values.tag)) throw new Error(`--tag takes letters, digits, '.', '-' and '_', got '${values.tag}'`);
  const suffix = [off ? '-safeguards-off' : '', values.tag ? `-${values.tag}` : ''].join('');
  writeFileSync(join(values.out, `tables${suffix}.md`), `${md}\n`);
  const summary = (r: StrategyResult | undefined) => r && { meanAccuracy: r.final.meanAccuracy, clusters: r.final.clusters, wallMs: r.wallMs };
  const json = entries.map(({ alpha, seed, data: rows, small, stage1, uniform, mismatch }) => ({
    alpha, seed, clusters: rows, mismatch, fedavgSmall: summary(small?.result), fedtsaStage1: summary(stage1?.result),
    uniformStage1: uniform && { uniformWidth: uniform.uniformWidth, plannedWidths: uniform.plannedWidths, commit: uniform.commit, ...summary(uniform.result) },
  }));
  writeFileSync(join(values.out, `cluster-data${suffix}.json`), `${JSON.stringify({ command, preset: values.preset, source, uniformNote: UNIFORM_NOTE, entries: json }, null, 2)}\n`);
  log(`wrote ${values.out}/tables${suffix}.md and cluster-data${suffix}.json`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
