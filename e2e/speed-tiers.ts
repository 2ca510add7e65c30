/**
 * Speed tiers of throttled browsers for the federation e2e: measured, not assumed. Under CDP
 * throttling on a loaded 2-core machine two pages at the same rate have measured 10 and 77
 * samples/s, so pages are measured again until the coordinator's clustering (core planClusters,
 * with the run's settings) finds the tiers, and the round budget is then derived from those
 * measurements. A measurement is remembered per browser context, so the run reuses it.
 */
import { expect, type Page } from '@playwright/test';
import { planClusters } from '../packages/fedtsa-core/src/round/plan.ts';
import { DEFAULT_SLOW_END_PERCENTILE, percentile } from '../packages/fedtsa-core/src/width-policy.ts';

/**
 * A round budget under which clusters with these slow ends (samples/s, slowest first) get
 * widths 1/4, 1/2, 1 for `samples` per round (cost ~ width^2): the geometric middle of the
 * interval where the slowest fits 1/4 but not 1/2, the middle fits 1/2 but not 1, and the
 * fastest fits 1. Null when the speeds leave no such interval (the middle 16x the slowest).
 */
export function budgetForQuarterHalfFull(slowEnds: readonly number[], samples: number): { budgetSec: number; lo: number; hi: number } | null {
  const [slow, mid, fast] = slowEnds.map((s) => samples / s) as [number, number, number]; // seconds at width 1
  const lo = Math.max(slow / 16, mid / 4, fast);
  const hi = Math.min(slow / 4, mid);
  return lo < hi ? { budgetSec: Math.sqrt(lo * hi), lo, hi } : null;
}

const scoreOf = async (page: Page): Promise<number> =>
  page.evaluate(() => (window as unknown as { __fedtsa: { samplesPerSec?: number } }).__fedtsa.samplesPerSec as number);

/** Clicks "Measure again" and waits for the new score. */
async function remeasure(page: Page): Promise<void> {
  const before = await scoreOf(page);
  await page.locator('#remeasure').click();
  await expect.poll(() => scoreOf(page), { timeout: 120_000 }).not.toBe(before);
}

export interface MeasuredTiers { speeds: number[]; slowEnds: number[]; budget: { budgetSec: number; lo: number; hi: number }; attempts: number }

/**
 * Which pages to measure again: contention only ever slows a page, so of two pages at the same
 * rate that disagree by more than 1.5x the slower one is off; and when two neighbouring tiers
 * are less than 4x apart (an unthrottled page on a loaded machine gets a fraction of a core,
 * a throttled one barely notices), all pages of both.
 */
function suspects(speeds: readonly number[], tiers: readonly number[][]): number[] {
  const out = new Set<number>();
  for (const tier of tiers) {
    const sorted = [...tier].sort((a, b) => speeds[a]! - speeds[b]!);
    if (speeds[sorted[sorted.length - 1]!]! > 1.5 * speeds[sorted[0]!]!) out.add(sorted[0]!);
  }
  for (let k = 1; k < tiers.length; k++) {
    const below = Math.max(...tiers[k - 1]!.map((i) => speeds[i]!));
    const above = Math.min(...tiers[k]!.map((i) => speeds[i]!));
    if (above < 4 * below) for (const i of [...tiers[k - 1]!, ...tiers[k]!]) out.add(i);
  }
  return out.size > 0 ? [...out] : tiers.flat();
}

/**
 * The pages' scores once the clustering puts pages `tiers[k]` (indices, slowest tier first) in
 * cluster k and a budget for widths 1/4, 1/2, 1 exists; up to `attempts` rounds of measuring,
 * each after the first measuring again the pages `suspects` names (one at a time). Null if never.
 * The clusters are still the coordinator's to find, from what the pages report: this only keeps
 * a measurement spoiled by the machine's load from deciding the test.
 */
export async function measureTiers(
  pages: readonly Page[], tiers: readonly number[][], plan: { localEpochs: number; samplesPerClient: number; minClusterSize: number }, attempts = 6,
  log: (line: string) => void = () => undefined,
): Promise<MeasuredTiers | null> {
  let speeds = await Promise.all(pages.map(scoreOf));
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      for (const i of suspects(speeds, tiers)) await remeasure(pages[i]!);
      speeds = await Promise.all(pages.map(scoreOf));
    }
    const setup = planClusters(speeds.map((samplesPerSec, i) => ({ id: String(i), samplesPerSec, numSamples: plan.samplesPerClient })), {
      roundBudgetSec: 1, localEpochs: plan.localEpochs, kde: { minClusterSize: plan.minClusterSize },
    });
    const found = setup.clusters.map((c) => c.memberIds.map(Number).sort((a, b) => a - b).join());
    const slowEnds = setup.clusters.map((c) => percentile(c.memberIds.map((i) => speeds[Number(i)]!), DEFAULT_SLOW_END_PERCENTILE));
    const budget = budgetForQuarterHalfFull(slowEnds, plan.localEpochs * plan.samplesPerClient);
    log(`attempt ${attempt}: ${speeds.map((s) => s.toFixed(0)).join(', ')} samples/s -> clusters ${found.map((f) => `[${f}]`).join(' ')}` +
      (budget ? `, budget ${budget.budgetSec.toFixed(3)} s in ${budget.lo.toFixed(3)}..${budget.hi.toFixed(3)}` : ''));
    if (budget && found.join('|') === tiers.map((t) => [...t].sort((a, b) => a - b).join()).join('|')) return { speeds, slowEnds, budget, attempts: attempt };
  }
  return null;
}
