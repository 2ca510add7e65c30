/**
 * Throttled browsers in speed tiers for the federation e2e: measured, not assumed.
 *
 * Chromium's CPU throttling on Linux (ThreadCPUThrottler) interrupts the page's main thread every
 * 200 us with a signal whose handler busy-waits for (rate - 1) times as long as the thread ran
 * (at most 1 ms): a throttled page spins whether it works or idles. Measured here, one idle page
 * used 62% of a core at 5x, 46% at 16x, 0-1% at 1x. So each page is throttled only while it
 * measures, and measures alone: the others idle unthrottled (rate 1 stops the throttler).
 *
 * The rate does not set the speed on a loaded machine either: a page runs at about the smaller
 * of its share of a core and 1/rate. With the generator job and other suites on these 2 cores
 * (load 6-10) an unthrottled page measured 83 to 1,244 samples/s, 5x pages measured as fast as
 * 1x ones (135-246 against 100-344) and 16x ones 30-73. So only the fast tier runs at a fixed
 * rate (1x); each slower tier's rates are set from what the tier above measured, until it
 * measures a clear gap below it. The tiers are real measured speeds, reported by the pages;
 * the clusters are still the coordinator's to find, and the budget is derived from the scores.
 */
import { loadavg } from 'node:os';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { planClusters } from '../packages/fedtsa-core/src/round/plan.ts';
import { DEFAULT_SLOW_END_PERCENTILE, percentile } from '../packages/fedtsa-core/src/width-policy.ts';

/** A browser context of its own (its own IndexedDB identity) whose page's CPU is slowed `rate` times while throttled. */
export interface Device { context: BrowserContext; page: Page; rate: number; throttle(on: boolean): Promise<void> }

export async function openDevice(browser: Browser, rate: number): Promise<Device> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const device: Device = { context, page, rate, throttle: async (on) => { await cdp.send('Emulation.setCPUThrottlingRate', { rate: on ? device.rate : 1 }); } };
  await device.throttle(true);
  return device;
}

const phaseOf = async (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { __fedtsa: { phase: string } }).__fedtsa.phase);

/** Joins and waits until the coordinator has the page's capability (its score measured or remembered). */
export async function joinRun(page: Page, serverUrl: string, run: { id: string; joinToken: string }): Promise<void> {
  await page.goto(`${serverUrl}/?run=${run.id}&token=${run.joinToken}&backend=wasm&worker=off`);
  await page.getByRole('button', { name: 'I agree, join' }).click();
  await expect.poll(async () => ['ready', 'training'].includes(await phaseOf(page)), { timeout: 120_000 }).toBe(true);
}

/**
 * One device per rate, opened one after another: each joins (and so measures, throttled) while
 * the ones before it idle unthrottled, and is left unthrottled once the coordinator has its score.
 */
export async function openAndMeasureOneByOne(browser: Browser, rates: readonly number[], join: (page: Page) => Promise<void>): Promise<Device[]> {
  const devices: Device[] = [];
  for (const rate of rates) {
    const device = await openDevice(browser, rate);
    await join(device.page);
    await device.throttle(false);
    devices.push(device);
  }
  return devices;
}

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

/** Clicks "Measure again" on the device, throttled while it measures, and waits for the new score. */
async function remeasure(device: Device): Promise<void> {
  const before = await scoreOf(device.page);
  await device.throttle(true);
  await device.page.locator('#remeasure').click();
  await expect.poll(() => scoreOf(device.page), { timeout: 120_000 }).not.toBe(before);
  await device.throttle(false);
}

export interface MeasuredTiers { speeds: number[]; rates: number[]; slowEnds: number[]; budget: { budgetSec: number; lo: number; hi: number }; attempts: number }

/**
 * Gaps between neighbouring tiers, from the top of one to the bottom of the tier above: core
 * planClusters (six pages, two a tier, 1.5x apart within a tier) found three tiers 4x apart top
 * to top (2.7x nearest to nearest) and merged them at 3x, and a clean-clone CI saw tiers 3.2x
 * apart (116-123 against 369-380 samples/s, after the fused training step made throttled pages
 * relatively faster) merge too: so min is 4. The budget for widths 1/4, 1/2, 1 needs the slow
 * tier less than 16x below the middle one. The target sits well past min because under load a
 * raised rate slows a page less than in proportion.
 */
const GAP = { min: 4, target: 6, max: 12 };
/** The rate's cap, to keep a page's measuring within its 120 s wait and its training within the run's 240 s deadline (200x scored 4.3 samples/s). */
const MAX_RATE = 200;

/**
 * The rate at which page `i` should measure again, or null when its score fits: a page slower
 * than 1.5x below its own tier's fastest measures again at its rate (outside load only ever slows
 * a page); a page of a slower tier outside GAP below the tier above gets the rate that would put
 * it at GAP.target (speed taken as proportional to 1/rate), within 4x of its rate and MAX_RATE.
 */
function rateToRemeasure(i: number, speeds: readonly number[], rates: readonly number[], tiers: readonly number[][]): number | null {
  const k = tiers.findIndex((t) => t.includes(i));
  const rate = rates[i]!;
  const above = tiers[k + 1]; // tiers are slowest first
  if (above) {
    const ref = Math.min(...above.map((j) => speeds[j]!));
    if (speeds[i]! > ref / GAP.min || speeds[i]! < ref / GAP.max) {
      return Math.min(MAX_RATE, Math.max(1.5, Math.min(4 * rate, Math.max(rate / 4, (rate * speeds[i]! * GAP.target) / ref))));
    }
  }
  return Math.max(...tiers[k]!.map((j) => speeds[j]!)) > 1.5 * speeds[i]! ? rate : null;
}

/**
 * The pages' scores once the clustering puts pages `tiers[k]` (indices, slowest tier first) in
 * cluster k and a budget for widths 1/4, 1/2, 1 exists; up to `attempts` rounds of checking, each
 * measuring again, fastest tier first and one page at a time (the others unthrottled, as
 * openAndMeasureOneByOne left them), the pages rateToRemeasure names. Null if never.
 */
export async function measureTiers(
  devices: readonly Device[], tiers: readonly number[][], plan: { localEpochs: number; samplesPerClient: number; minClusterSize: number }, attempts = 6,
  log: (line: string) => void = () => undefined,
): Promise<MeasuredTiers | null> {
  const speeds = await Promise.all(devices.map((d) => scoreOf(d.page)));
  const expected = tiers.map((t) => [...t].sort((a, b) => a - b).join()).join('|');
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const measuredAgain: string[] = [];
    if (attempt > 1) {
      for (const i of [...tiers].reverse().flat()) {
        const rate = rateToRemeasure(i, speeds, devices.map((d) => d.rate), tiers);
        if (rate === null) continue;
        devices[i]!.rate = Number(rate.toFixed(1));
        await remeasure(devices[i]!);
        speeds[i] = await scoreOf(devices[i]!.page);
        measuredAgain.push(`${i}@${devices[i]!.rate}x`);
      }
    }
    const setup = planClusters(speeds.map((samplesPerSec, i) => ({ id: String(i), samplesPerSec, numSamples: plan.samplesPerClient })), {
      roundBudgetSec: 1, localEpochs: plan.localEpochs, kde: { minClusterSize: plan.minClusterSize },
    });
    const found = setup.clusters.map((c) => c.memberIds.map(Number).sort((a, b) => a - b).join());
    const slowEnds = setup.clusters.map((c) => percentile(c.memberIds.map((i) => speeds[Number(i)]!), DEFAULT_SLOW_END_PERCENTILE));
    const budget = budgetForQuarterHalfFull(slowEnds, plan.localEpochs * plan.samplesPerClient);
    log(`attempt ${attempt} (load ${loadavg()[0]!.toFixed(1)}${measuredAgain.length ? `, measured again: ${measuredAgain.join(' ')}` : ''}): ` +
      `${speeds.map((s, i) => `${s.toFixed(1)}@${devices[i]!.rate}x`).join(', ')} samples/s -> clusters ${found.map((f) => `[${f}]`).join(' ')}` +
      (budget ? `, budget ${budget.budgetSec.toFixed(3)} s in ${budget.lo.toFixed(3)}..${budget.hi.toFixed(3)}` : ''));
    if (budget && found.join('|') === expected) return { speeds, rates: devices.map((d) => d.rate), slowEnds, budget, attempts: attempt };
  }
  return null;
}
