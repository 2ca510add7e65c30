/**
 * The sweep's grid: arms (a name and the simulate args it adds), the plan (alphas and their
 * seeds) and the cells they make, in the order they run. Pure: no fs, no processes.
 *
 * Layout (fixed; results/baselines/run-cells.sh fills the same folders):
 *   <out>/cells/alpha-<A>/seed-<N>/<arm>/     comparison.json (done iff present), cell.json, ...
 *   <out>/cells/alpha-any/seed-<N>/centralised/  the bound does not depend on alpha (run at 0.5)
 */

export interface Arm {
  name: string;
  /** Added to every cell's simulate command after the preset, alpha and seed. */
  args: string[];
}

/** Every arm the sweep knows, in the order its tables and plots list them. */
export const ARMS: readonly Arm[] = [
  ...['fedavg-small', 'heterofl', 'fedrolex', 'fjord'].map((name) => ({ name, args: ['--strategy', name] })),
  { name: 'feddf', args: ['--strategy', 'feddf'] },
  { name: 'feddf-public', args: ['--strategy', 'feddf', '--feddf-data', 'public'] },
  ...['fedtsa-stage1', 'fedtsa', 'centralised'].map((name) => ({ name, args: ['--strategy', name] })),
];

export const CENTRALISED = 'centralised';
export const DEFAULT_PLAN = '0.5:1-5,0.1:1-3,iid:1-3';
/** The alpha the centralised cell runs at (its data is the union of the clients', so alpha does not matter). */
export const CENTRALISED_ALPHA = '0.5';

export interface PlanEntry {
  /** As written: '0.5', '0.1', 'iid'. */
  alpha: string;
  seeds: number[];
}

export interface Cell {
  arm: Arm;
  /** The cell folder's alpha: the plan's, or 'any' for the centralised bound. */
  alpha: string;
  /** The alpha the simulate command runs with. */
  runAlpha: string;
  seed: number;
  /** Relative to the sweep's out folder. */
  path: string;
}

/** `--arms a,b,c` to arms; undefined = all of them. */
export function selectArms(list: string | undefined): Arm[] {
  if (list === undefined) return [...ARMS];
  const names = list.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !ARMS.some((a) => a.name === n));
  if (unknown.length > 0) throw new Error(`--arms: unknown arm(s) ${unknown.join(', ')}; known: ${ARMS.map((a) => a.name).join(', ')}`);
  if (names.length === 0) throw new Error('--arms: name at least one arm');
  return ARMS.filter((a) => names.includes(a.name));
}

/**
 * "0.5:1-5,0.1:1-3,iid:1-3": an item with a colon starts an alpha, one without adds seeds to
 * the previous one ("0.5:1,3,iid:2" = seeds 1 and 3 at 0.5, seed 2 at iid).
 */
export function parsePlan(text: string): PlanEntry[] {
  const entries: PlanEntry[] = [];
  const seedsOf = (spec: string): number[] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(spec.trim());
    if (!m) throw new Error(`--plan: seeds must be N or N-M, got '${spec}' in '${text}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`--plan: empty seed range '${spec}' in '${text}'`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  };
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      const last = entries[entries.length - 1];
      if (!last) throw new Error(`--plan: '${item}' has no alpha (write ALPHA:SEEDS, e.g. ${DEFAULT_PLAN})`);
      last.seeds.push(...seedsOf(item));
      continue;
    }
    const alpha = item.slice(0, colon).trim();
    if (alpha !== 'iid' && !(Number(alpha) > 0)) throw new Error(`--plan: alpha must be a positive number or iid, got '${alpha}'`);
    const existing = entries.find((e) => e.alpha === alpha);
    if (existing) existing.seeds.push(...seedsOf(item.slice(colon + 1)));
    else entries.push({ alpha, seeds: seedsOf(item.slice(colon + 1)) });
  }
  for (const e of entries) e.seeds = [...new Set(e.seeds)];
  return entries;
}

export function cellPath(alpha: string, seed: number, arm: string): string {
  return `cells/alpha-${arm === CENTRALISED ? 'any' : alpha}/seed-${seed}/${arm}`;
}

/** In plan order, seed by seed, every arm of a seed before the next (so partial results are paired); the bound once per seed. */
export function planCells(plan: PlanEntry[], arms: Arm[]): Cell[] {
  const cells: Cell[] = [];
  const seen = new Set<string>();
  for (const { alpha, seeds } of plan) {
    for (const seed of seeds) {
      for (const arm of arms) {
        const path = cellPath(alpha, seed, arm.name);
        if (seen.has(path)) continue;
        seen.add(path);
        const central = arm.name === CENTRALISED;
        cells.push({ arm, alpha: central ? 'any' : alpha, runAlpha: central ? CENTRALISED_ALPHA : alpha, seed, path });
      }
    }
  }
  return cells;
}

/** The simulate arguments of a cell, before `--out`; `extra` comes last so it can override the preset. */
export function cellArgs(cell: Cell, extra: string[]): string[] {
  return ['--preset', 'default', '--alpha', cell.runAlpha, '--seed', String(cell.seed), ...cell.arm.args, ...extra];
}

/** Flags the layout owns: extra args must not move a cell's alpha, seed, strategy or folder. */
export function checkExtraArgs(extra: string[]): void {
  const owned = ['--alpha', '--seed', '--seeds', '--strategy', '--out', '--compare'];
  const bad = extra.filter((a) => owned.includes(a.split('=')[0] as string));
  if (bad.length > 0) throw new Error(`extra simulate args must not set ${bad.join(', ')}: the sweep sets them per cell`);
}
