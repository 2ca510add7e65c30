/**
 * How often the KDE clustering (core kde.ts) finds the device tiers, measured over seeded
 * random draws, for the settings in force and for the ones before issue 16.
 *
 *   npm run kde:recovery -- [--draws 1000] [--seed 1] [--out results/kde-recovery/recovery.json]
 *
 * Small federations (issue 16), n = 4, 6, 8, 12:
 * - tiered draw: 2 tiers at n = 4, otherwise 2 or 3 (each with probability 1/2). Tier sizes
 *   are a uniformly random composition of n into that many parts >= 1 (k - 1 distinct cut
 *   points among the n - 1 gaps between sorted devices), so a tier may hold one device at
 *   every n. Within a tier, ln(samples/s) is uniform on a window of width ln 1.5 (spread at
 *   most 1.5x); the slowest device of each tier is g times the fastest of the tier below,
 *   g log-uniform in [4, 16]. Recovered = exactly the tiers' partition.
 * - single-tier draw: n devices uniform on one ln 1.5 window. Kept whole = one cluster.
 * Populations of the kde.ts comment, n = 12, 30, 100: three lognormal tiers with medians
 * 25 / 200 / 1500 samples/s and sigma 0.3 (ln units), dealt out in equal thirds (the last
 * tier takes the remainder), against one lognormal with sigma 0.8.
 * The first tier's position is log-uniform in [5, 500] samples/s (the KDE works in log space,
 * so only ratios matter). Every draw has its own seed: deriveSeed(seed, scenario, n, draw).
 */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { clusterByCapability, DEFAULT_KDE_OPTIONS, type ClientCapability, type KdeOptions } from '@fedtsa/core/kde';
import { createRng, deriveSeed, randomNormal, shuffleInPlace, type Rng } from '@fedtsa/core/rng';
import { comparePresetClusterings, describeClustering } from './preset-clusterings.ts';

/** The defaults before issue 16: no bandwidth floor or ceiling, and every undersized cluster merges. */
export const PRE_ISSUE16_KDE_OPTIONS: Partial<KdeOptions> = {
  bandwidthFactor: 0.5, minProminence: 0.5, minClusterSize: 2, minBandwidthLog: 0, maxBandwidthLog: Infinity, isolatedGapLog: Infinity,
};

/** A draw: devices in shuffled order, and the true tiers as sets of ids, slowest first. */
interface Draw { capabilities: ClientCapability[]; tiers: string[][] }

/** A tier's spread (ratio of its fastest to its slowest device) and the gaps between neighbouring tiers. */
interface TierShape { maxSpread: number; minGap: number; maxGap: number }
const PROMISED: TierShape = { maxSpread: 1.5, minGap: 4, maxGap: 16 };
/** Beyond what issue 16 asks, to show where the rules stop holding. */
const STRESSED: TierShape = { maxSpread: 2, minGap: 3, maxGap: 16 };

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

/** A uniformly random composition of n into k parts >= 1. */
function tierSizes(rng: Rng, n: number, k: number): number[] {
  const cuts = shuffleInPlace(rng, Array.from({ length: n - 1 }, (_, i) => i + 1)).slice(0, k - 1).sort((a, b) => a - b);
  return [...cuts, n].map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!));
}

function finish(rng: Rng, tiers: number[][]): Draw {
  const capabilities = tiers.flatMap((logs, t) => logs.map((x, i) => ({ id: `t${t}-${i}`, samplesPerSec: Math.exp(x) })));
  shuffleInPlace(rng, capabilities);
  return { capabilities, tiers: tiers.map((logs, t) => logs.map((_, i) => `t${t}-${i}`)) };
}

/** Tiers of `sizes` devices, each within a maxSpread window, gaps log-uniform in [minGap, maxGap] between neighbours. */
export function drawWindowTiers(rng: Rng, sizes: readonly number[], shape: TierShape = PROMISED): Draw {
  let start = Math.log(uniform(rng, 5, 500));
  const tiers = sizes.map((size, t) => {
    if (t > 0) start += uniform(rng, Math.log(shape.minGap), Math.log(shape.maxGap)); // ln g, g log-uniform
    const offsets = Array.from({ length: size }, () => rng.next() * Math.log(shape.maxSpread));
    const low = Math.min(...offsets);
    const logs = offsets.map((o) => start + o - low); // the tier's slowest device sits at `start`
    start = Math.max(...logs);
    return logs;
  });
  return finish(rng, tiers);
}

function drawLognormalTiers(rng: Rng, n: number, medians: readonly number[], sigma: number): Draw {
  const shift = Math.log(uniform(rng, 5, 500) / medians[0]!);
  const tiers = medians.map((m, t) => {
    const size = t === medians.length - 1 ? n - Math.round(n / medians.length) * (medians.length - 1) : Math.round(n / medians.length);
    return Array.from({ length: size }, () => shift + Math.log(m) + sigma * randomNormal(rng));
  });
  return finish(rng, tiers);
}

const samePartition = (clusters: readonly { memberIds: string[] }[], tiers: readonly string[][]): boolean =>
  clusters.length === tiers.length &&
  clusters.every((c, k) => c.memberIds.length === tiers[k]!.length && c.memberIds.every((id) => tiers[k]!.includes(id)));

interface Scenario { name: string; id: number; ns: number[]; draw: (rng: Rng, n: number) => Draw; what: 'recovered' | 'kept whole' }

const SCENARIOS: Scenario[] = [
  {
    name: 'small: 2-3 tiers, spread <= 1.5x, gaps 4-16x', id: 1, ns: [4, 6, 8, 12], what: 'recovered',
    draw: (rng, n) => drawWindowTiers(rng, tierSizes(rng, n, n === 4 ? 2 : rng.next() < 0.5 ? 2 : 3)),
  },
  { name: 'small: one tier, spread <= 1.5x', id: 2, ns: [4, 6, 8, 12], what: 'kept whole', draw: (rng, n) => drawWindowTiers(rng, [n]) },
  {
    name: 'stressed: 2-3 tiers, spread <= 2x, gaps 3-16x', id: 5, ns: [4, 6, 8, 12], what: 'recovered',
    draw: (rng, n) => drawWindowTiers(rng, tierSizes(rng, n, n === 4 ? 2 : rng.next() < 0.5 ? 2 : 3), STRESSED),
  },
  { name: 'stressed: one tier, spread <= 2x', id: 6, ns: [4, 6, 8, 12], what: 'kept whole', draw: (rng, n) => drawWindowTiers(rng, [n], STRESSED) },
  {
    name: 'lognormal: tiers 25/200/1500, sigma 0.3', id: 3, ns: [12, 30, 100], what: 'recovered',
    draw: (rng, n) => drawLognormalTiers(rng, n, [25, 200, 1500], 0.3),
  },
  { name: 'lognormal: one tier, sigma 0.8', id: 4, ns: [12, 30, 100], what: 'kept whole', draw: (rng, n) => drawLognormalTiers(rng, n, [200], 0.8) },
];

export interface RecoveryRow {
  scenario: string; what: string; n: number; draws: number;
  /** Draws with a one-device tier (those the old minClusterSize rule could not recover). */
  withSingletonTier: number;
  before: number; after: number;
}

export function measureRecovery(draws: number, seed: number, options: { before: Partial<KdeOptions>; after: Partial<KdeOptions> }): RecoveryRow[] {
  return SCENARIOS.flatMap((s) => s.ns.map((n) => {
    const row: RecoveryRow = { scenario: s.name, what: s.what, n, draws, withSingletonTier: 0, before: 0, after: 0 };
    for (let d = 0; d < draws; d++) {
      const { capabilities, tiers } = s.draw(createRng(deriveSeed(seed, s.id, n, d)), n);
      if (tiers.some((t) => t.length === 1)) row.withSingletonTier += 1;
      if (samePartition(clusterByCapability(capabilities, options.before).clusters, tiers)) row.before += 1;
      if (samePartition(clusterByCapability(capabilities, options.after).clusters, tiers)) row.after += 1;
    }
    return row;
  }));
}

export function formatRecovery(rows: readonly RecoveryRow[]): string {
  const pct = (k: number, d: number): string => `${((100 * k) / d).toFixed(1)}%`;
  const lines = ['| draws | n | measure | before issue 16 | now | draws with a 1-device tier |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.scenario} | ${r.n} | ${r.what} | ${pct(r.before, r.draws)} | ${pct(r.after, r.draws)} | ${r.withSingletonTier} of ${r.draws} |`);
  }
  return lines.join('\n');
}

function main(): void {
  const { values } = parseArgs({ options: { draws: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, out: { type: 'string' } } });
  const draws = Number(values.draws);
  const seed = Number(values.seed);
  if (!(Number.isInteger(draws) && draws > 0)) throw new Error(`kde-recovery: --draws must be a positive integer, got ${values.draws}`);
  if (!Number.isFinite(seed)) throw new Error(`kde-recovery: --seed must be a number, got ${values.seed}`);
  const rows = measureRecovery(draws, seed, { before: PRE_ISSUE16_KDE_OPTIONS, after: {} });
  // JSON has no Infinity: options print with it spelled out.
  const show = (o: object): string => JSON.stringify(o, (_, v) => (v === Infinity ? 'Infinity' : v));
  console.log(`KDE recovery, ${draws} draws per row, seed ${seed}`);
  console.log(`before issue 16: ${show(PRE_ISSUE16_KDE_OPTIONS)}\nnow (DEFAULT_KDE_OPTIONS): ${show(DEFAULT_KDE_OPTIONS)}\n`);
  console.log(formatRecovery(rows));
  const presets = comparePresetClusterings([1, 2, 3], PRE_ISSUE16_KDE_OPTIONS, {});
  console.log('\nSimulator presets, seeds 1-3 (clusters slowest first: width and tiers), before issue 16 -> now:');
  for (const p of presets) {
    const round = (b: number[]): string => b.map((x) => x.toFixed(0)).join(', ');
    console.log(`- ${p.preset} (${p.numClients} clients) seed ${p.seed}: ${p.unchanged ? 'unchanged' : 'CHANGED'}; ${describeClustering(p.before)} [boundaries ${round(p.before.boundaries)}]` +
      (p.unchanged ? ` -> boundaries ${round(p.now.boundaries)}` : ` -> ${describeClustering(p.now)} [boundaries ${round(p.now.boundaries)}]`));
  }
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    const summary = presets.map(({ preset, seed: s, numClients, unchanged, before, now }) => ({ preset, seed: s, numClients, unchanged, before, now }));
    writeFileSync(values.out, `${show({ draws, seed, before: PRE_ISSUE16_KDE_OPTIONS, now: DEFAULT_KDE_OPTIONS, rows, presets: summary })}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
