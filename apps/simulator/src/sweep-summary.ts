/**
 * The sweep's summary: pure functions from parsed cells to the numbers (summary.json) and the
 * tables (summary.md). Accuracies are fractions here and percent in the tables.
 */
import type { StrategyResult } from './run.ts';
import { CENTRALISED, type PlanEntry } from './sweep-plan.ts';

/** cell.json: what ran, on which commit, for how long (compute seconds on this machine). */
export interface CellMeta {
  commit: string;
  command: string;
  seconds: number;
  finishedAt: string;
}

/** One done cell: its folder's alpha ('any' for the bound), seed and arm, and what comparison.json holds. */
export interface DoneCell {
  alpha: string;
  seed: number;
  arm: string;
  /** comparison.json's task line, e.g. "fashion-mnist (28x28x1, 10 classes)". */
  task?: string;
  result: Pick<StrategyResult, 'name' | 'rounds' | 'final'>;
  meta?: CellMeta;
}

export interface Stats { mean: number; sd: number; n: number }

/** Mean and sample standard deviation (0 for one value); NaN mean for none. */
export function meanSd(xs: number[]): Stats {
  const n = xs.length;
  const mean = n === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** 1 / classes from "... N classes)"; 0.1 when the task line does not say. */
export function chanceOf(task: string | undefined): number {
  const m = /(\d+) classes/.exec(task ?? '');
  return m ? 1 / Number(m[1]) : 0.1;
}

export interface TimeToTarget {
  /** Seeds whose per-round accuracy reached the target, of `seeds` done. */
  reached: number;
  seeds: number;
  /** Means over the seeds that reached it. */
  meanRound?: number;
  meanSimulatedSec?: number;
  /** The same clock without the server's measured time (Stage 1 and the server step): devices and network only. */
  meanDeviceSec?: number;
}

/** The server's measured seconds in a round's simulated time (Stage 1 and the server step; they depend on the machine's load). */
export const serverSecOf = (r: DoneCell['result']['rounds'][number]): number => (r.stage1Ms + r.serverStepMs) / 1000;

/** Simulated seconds up to and including `round`, without the server's time. */
export function deviceSecUpTo(result: DoneCell['result'], round: number): number | undefined {
  const upTo = result.rounds.filter((x) => x.round <= round);
  if (upTo.some((x) => x.simulatedSec === undefined)) return undefined;
  return upTo.reduce((a, x) => a + (x.simulatedSec as number) - serverSecOf(x), 0);
}

/** The first round whose (per-round) meanAccuracy reaches `target`, and the simulated clock then (with and without the server's time). */
export function firstReach(result: DoneCell['result'], target: number): { round: number; simulatedSec?: number; deviceSec?: number } | undefined {
  const r = result.rounds.find((x) => x.meanAccuracy >= target);
  const deviceSec = r && deviceSecUpTo(result, r.round);
  return r && { round: r.round, ...(r.simulatedElapsedSec !== undefined ? { simulatedSec: r.simulatedElapsedSec } : {}), ...(deviceSec !== undefined ? { deviceSec } : {}) };
}

export function timeToTarget(cells: DoneCell[], target: number): TimeToTarget {
  const hits = cells.map((c) => firstReach(c.result, target)).filter((h) => h !== undefined);
  const sims = hits.map((h) => h.simulatedSec).filter((s): s is number => s !== undefined);
  const devices = hits.map((h) => h.deviceSec).filter((s): s is number => s !== undefined);
  return {
    reached: hits.length, seeds: cells.length,
    ...(hits.length > 0 ? { meanRound: meanSd(hits.map((h) => h.round)).mean } : {}),
    ...(sims.length > 0 ? { meanSimulatedSec: meanSd(sims).mean } : {}),
    ...(devices.length > 0 ? { meanDeviceSec: meanSd(devices).mean } : {}),
  };
}

/** fedtsa minus `other` on the seeds where both are done. */
export function pairedDifference(a: DoneCell[], b: DoneCell[]): { perSeed: Record<number, number>; stats: Stats } {
  const bySeed = new Map(b.map((c) => [c.seed, c.result.final.meanAccuracy]));
  const perSeed: Record<number, number> = {};
  for (const c of a) {
    const other = bySeed.get(c.seed);
    if (other !== undefined) perSeed[c.seed] = c.result.final.meanAccuracy - other;
  }
  return { perSeed, stats: meanSd(Object.values(perSeed)) };
}

export interface ClusterSummary {
  clusterIndex: number;
  widthRatios: number[];
  mean: number;
  min: number;
  /** Seeds where this cluster's final accuracy was below 1.5 x chance. */
  nearChanceSeeds: number[];
}

export function clusterSummary(cells: DoneCell[], chance: number): ClusterSummary[] {
  const byIndex = new Map<number, { seed: number; widthRatio: number; accuracy: number }[]>();
  for (const c of cells) {
    for (const k of c.result.final.clusters) {
      const list = byIndex.get(k.clusterIndex) ?? [];
      list.push({ seed: c.seed, widthRatio: k.widthRatio, accuracy: k.accuracy });
      byIndex.set(k.clusterIndex, list);
    }
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([clusterIndex, xs]) => ({
    clusterIndex,
    widthRatios: [...new Set(xs.map((x) => x.widthRatio))].sort((a, b) => a - b),
    mean: meanSd(xs.map((x) => x.accuracy)).mean,
    min: Math.min(...xs.map((x) => x.accuracy)),
    nearChanceSeeds: xs.filter((x) => x.accuracy < 1.5 * chance).map((x) => x.seed),
  }));
}

export interface ArmSummary {
  arm: string;
  /** Final member-weighted accuracy per done seed. */
  perSeed: Record<number, number>;
  final: Stats;
  /** The width-1 global model's final accuracy, for arms that keep one (HeteroFL, FedRolex, FjORD report it). */
  global?: Stats;
  planned: number;
  clusters: ClusterSummary[];
  timeToTarget?: TimeToTarget;
  /** Mean over seeds of the last round's simulated elapsed time (none for the bound), and of the server's share of it. */
  meanSimulatedSec?: number;
  meanServerSec?: number;
  /** Compute seconds per cell (cell.json) and their total. */
  secondsPerCell: Stats;
  totalSeconds: number;
  /** The commits the done cells ran at (cell.json), so cells from different code are visible. */
  commits: string[];
}

export interface AlphaSummary {
  alpha: string;
  seeds: number[];
  chance: number;
  /** The centralised bound's mean final accuracy on this alpha's seeds, and target = fraction x it. */
  bound?: number;
  target?: number;
  arms: ArmSummary[];
  /** fedtsa minus each other arm, by arm. */
  paired: Record<string, { perSeed: Record<number, number>; stats: Stats }>;
}

export interface SweepSummary {
  targetFraction: number;
  alphas: AlphaSummary[];
  /** Planned cells done, planned cells, and every done cell present (planned or not). */
  cellsDone: number;
  cellsPlanned: number;
  cellsPresent: number;
  totalSeconds: number;
}

export interface SummaryInput {
  cells: DoneCell[];
  plan: PlanEntry[];
  /** Arms in table order; arms found in the cells but not named here are appended. */
  arms: string[];
  targetFraction: number;
}

export function summarizeSweep({ cells, plan, arms, targetFraction }: SummaryInput): SweepSummary {
  const alphas = [...new Set([...plan.map((p) => p.alpha), ...cells.map((c) => c.alpha).filter((a) => a !== 'any')])];
  const armNames = [...new Set([...arms, ...cells.map((c) => c.arm)])];
  const planned = new Set<string>();
  const summaries = alphas.map((alpha): AlphaSummary => {
    const planSeeds = plan.find((p) => p.alpha === alpha)?.seeds ?? [];
    const seeds = [...new Set([...planSeeds, ...cells.filter((c) => c.alpha === alpha).map((c) => c.seed)])].sort((a, b) => a - b);
    const cellsOf = (arm: string) => cells.filter((c) => c.arm === arm && (arm === CENTRALISED ? c.alpha === 'any' : c.alpha === alpha) && seeds.includes(c.seed))
      .sort((a, b) => a.seed - b.seed);
    const chance = chanceOf(cells.find((c) => c.alpha === alpha && c.task)?.task ?? cells.find((c) => c.task)?.task);
    const boundCells = cellsOf(CENTRALISED);
    const bound = boundCells.length > 0 ? meanSd(boundCells.map((c) => c.result.final.meanAccuracy)).mean : undefined;
    const target = bound === undefined ? undefined : targetFraction * bound;
    const armSummaries = armNames.filter((arm) => arms.includes(arm) || cellsOf(arm).length > 0).map((arm): ArmSummary => {
      const done = cellsOf(arm);
      for (const s of planSeeds) if (arms.includes(arm)) planned.add(`${arm === CENTRALISED ? 'any' : alpha}/${s}/${arm}`);
      const seconds = done.map((c) => c.meta?.seconds).filter((s): s is number => s !== undefined);
      const global = done.map((c) => c.result.final.globalAccuracy).filter((g): g is number => g !== undefined);
      const simulated = done.map((c) => c.result.rounds[c.result.rounds.length - 1]?.simulatedElapsedSec).filter((s): s is number => s !== undefined);
      return {
        arm,
        perSeed: Object.fromEntries(done.map((c) => [c.seed, c.result.final.meanAccuracy])),
        final: meanSd(done.map((c) => c.result.final.meanAccuracy)),
        ...(global.length > 0 ? { global: meanSd(global) } : {}),
        planned: arms.includes(arm) ? planSeeds.length : 0,
        clusters: clusterSummary(done, chance),
        ...(target !== undefined && done.length > 0 ? { timeToTarget: timeToTarget(done, target) } : {}),
        ...(simulated.length > 0 ? { meanSimulatedSec: meanSd(simulated).mean, meanServerSec: meanSd(done.map((c) => c.result.rounds.reduce((t, x) => t + serverSecOf(x), 0))).mean } : {}),
        secondsPerCell: meanSd(seconds),
        totalSeconds: seconds.reduce((a, b) => a + b, 0),
        commits: [...new Set(done.map((c) => c.meta?.commit).filter((x): x is string => x !== undefined))],
      };
    });
    const fedtsa = cellsOf('fedtsa');
    const paired = Object.fromEntries(fedtsa.length === 0 ? [] : armNames.filter((a) => a !== 'fedtsa' && cellsOf(a).length > 0).map((a) => [a, pairedDifference(fedtsa, cellsOf(a))]));
    return { alpha, seeds, chance, ...(bound !== undefined ? { bound } : {}), ...(target !== undefined ? { target } : {}), arms: armSummaries, paired };
  });
  return {
    targetFraction, alphas: summaries,
    cellsDone: cells.filter((c) => planned.has(`${c.alpha}/${c.seed}/${c.arm}`)).length, cellsPlanned: planned.size, cellsPresent: cells.length,
    totalSeconds: cells.reduce((a, c) => a + (c.meta?.seconds ?? 0), 0),
  };
}
