/**
 * The browser client's capability benchmark in Debian's chromium, one browser at a time,
 * CPU throttled through CDP at rates 1, 2, 4 and 8 (forced onto wasm; in-page, since CDP
 * throttling cannot reach a Web Worker): how long the benchmark takes, and the Spearman rank
 * correlation between the scores and the throttle rates (ideal: -1, slower device, lower score).
 *   node --import tsx bench/capability.ts [repeats]
 */
import { chromium } from '@playwright/test';
import { startCoordinator } from '../e2e/coordinator-process.ts';
import { fmt, table } from './lib.ts';

const RATES = [1, 2, 4, 8];
const repeats = Number(process.argv[2] ?? 2);

function ranks(xs: number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function spearman(a: number[], b: number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

const coordinator = await startCoordinator();
const browser = await chromium.launch({
  executablePath: process.env.FEDTSA_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const run = await coordinator.createRun({ rounds: 1, minClientsToStart: 1000 });
  const rows: (string | number)[][] = [];
  const scores: number[] = [];
  const rates: number[] = [];
  for (let rep = 0; rep < repeats; rep++) {
    for (const rate of RATES) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate });
      await page.goto(`${coordinator.url}/?run=${run.id}&token=${run.joinToken}&backend=wasm&worker=off`);
      await page.getByRole('button', { name: 'I agree, join' }).click();
      const deadline = Date.now() + 180_000;
      let result: { samplesPerSec: number; durationMs: number } | undefined;
      while (!result && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        result = await page.evaluate(() => (window as unknown as { __fedtsa: { benchmark?: { samplesPerSec: number; durationMs: number } } }).__fedtsa.benchmark);
      }
      if (!result) throw new Error(`no benchmark result at rate ${rate}`);
      rows.push([rep + 1, rate, fmt(result.samplesPerSec, 1), fmt(result.durationMs / 1000, 2)]);
      scores.push(result.samplesPerSec);
      rates.push(rate);
      await context.close();
    }
  }
  console.log(`wasm, in-page, one browser context at a time; ${repeats} passes over rates ${RATES.join(', ')}.\n`);
  console.log(table(['pass', 'CDP throttle rate', 'score (samples/s)', 'benchmark duration (s)'], rows));
  const rho = spearman(scores, rates);
  const base = rows.filter((r) => r[1] === 1).map((r) => Number(r[2]));
  // Every rate is measured once per pass, so the rates tie and even perfectly ordered scores cannot reach -1.
  const best = spearman(rates.map((r, i) => -r * 1e6 + i), rates);
  console.log(`\nSpearman rank correlation between score and throttle rate: ${fmt(rho, 3)} (ideal ${fmt(best, 3)}: with ${repeats} passes the rates tie, and scores in perfect order give that).`);
  console.log(`Score at rate r divided by the score at rate 1 of the same pass: ${RATES.map((r) => `${r}: ${fmt(Number(rows.find((x) => x[1] === r && x[0] === 1)?.[2]) / (base[0] ?? Number.NaN), 3)}`).join(', ')} (ideal 1/r).`);
} finally {
  await browser.close();
  await coordinator.stop();
}
