/**
 * The browser client's training loop against plain model.fit of the same model, backend and
 * batch size in the same page (Debian's chromium), printed as a ratio (target >= 0.95). Since
 * issue 19 the loop takes the fused step on wasm and model.fit cannot, so the ratio is above 1
 * there; the floor is the better baseline: on wasm the page also times a step against three
 * forward passes at every width (bench/train-step.ts is the same in Node).
 *   npm run bench:client -- [wasm webgl ...]
 */
import { createReadStream, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium } from '@playwright/test';

const dist = new URL('../apps/browser-client/dist/', import.meta.url).pathname;
if (!existsSync(join(dist, 'bench.html'))) throw new Error('build the client first: npm run build -w apps/browser-client');
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = createServer((req, res) => {
  const path = normalize(join(dist, decodeURIComponent((req.url ?? '/').split('?')[0] as string)));
  if (!path.startsWith(dist) || !existsSync(path)) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
  createReadStream(path).pipe(res);
}).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const port = (server.address() as { port: number }).port;
const browser = await chromium.launch({
  executablePath: process.env.FEDTSA_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const backends = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['wasm', 'webgl'];
const steps = new Map<string, { width: number; forwardMs: number; stepBeforeMs: number; stepAfterMs: number }[]>();
console.log('| backend | client loop (samples/s) | model.fit (samples/s) | ratio |\n|---|---|---|---|');
for (const backend of backends) {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/bench.html?backend=${backend}`);
  await page.waitForFunction(() => (window as unknown as { __bench?: unknown }).__bench !== undefined, undefined, { timeout: 600_000 });
  const r = await page.evaluate(() => (window as unknown as { __bench: Record<string, number | string> }).__bench);
  if (r.error) console.log(`| ${backend} | failed: ${r.error} | | |`);
  else console.log(`| ${backend} | ${(r.clientLoopSamplesPerSec as number).toFixed(1)} | ${(r.modelFitSamplesPerSec as number).toFixed(1)} | ${(r.ratio as number).toFixed(3)} |`);
  const widths = (r.widths ?? []) as unknown as { width: number; forwardMs: number; stepBeforeMs: number; stepAfterMs: number }[];
  if (widths.length > 0) steps.set(backend, widths);
  await page.close();
}
for (const [backend, widths] of steps) {
  console.log(`\n${backend} in Chromium, batch 32: trainLocal's step against three forward passes, wall ms, medians of 7 interleaved repetitions of 10.\n`);
  console.log('| width | forward (ms) | step without fused step (ms) | ratio to 3 x forward | step (ms) | ratio to 3 x forward | speed-up |\n|---|---|---|---|---|---|---|');
  for (const w of widths) {
    const floor = 3 * w.forwardMs;
    console.log(`| ${w.width} | ${w.forwardMs.toFixed(2)} | ${w.stepBeforeMs.toFixed(2)} | ${(w.stepBeforeMs / floor).toFixed(2)} | ${w.stepAfterMs.toFixed(2)} | ${(w.stepAfterMs / floor).toFixed(2)} | ${(w.stepBeforeMs / w.stepAfterMs).toFixed(2)} |`);
  }
}
await browser.close();
server.close();
