/**
 * `npm run bench`: every benchmark, one after another in its own process, each printing its
 * ratio against a baseline measured in the same run; writes BENCHMARKS.md with the machine
 * and the command behind every figure.
 *   npm run bench [-- --only NAME,NAME] [-- --out FILE]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { machine } from './lib.ts';

const BENCHES = [
  { name: 'client-loop', title: 'Browser client training loop against model.fit', file: 'bench/client-training-loop.ts', args: ['wasm', 'webgl'] },
  { name: 'train-step', title: 'Training step against three forward passes', file: 'bench/train-step.ts', args: [] },
  { name: 'wire-bytes', title: 'Bytes on the wire per update', file: 'bench/wire-bytes.ts', args: [] },
  { name: 'stage1', title: 'Stage 1 averaging', file: 'bench/stage1.ts', args: [] },
  { name: 'stage2', title: 'Stage 2: generation and mutual learning', file: 'bench/stage2.ts', args: [] },
  { name: 'server-time', title: 'Server time per round', file: 'bench/server-time.ts', args: [] },
  { name: 'fan-out', title: 'Fan-out: 1,000 connected clients, 200 per round', file: 'bench/fan-out.ts', args: ['--clients', '1000', '--participants', '200'] },
  { name: 'capability', title: 'Capability benchmark against CDP throttling', file: 'bench/capability.ts', args: ['2'] },
];

const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string', default: 'BENCHMARKS.md' } } });
const only = values.only?.split(',');
const sections: string[] = [];
const started = Date.now();
for (const b of BENCHES.filter((x) => !only || only.includes(x.name))) {
  const command = `node --import tsx ${b.file} ${b.args.join(' ')}`.trim();
  console.error(`[bench] ${b.name}: ${command}`);
  const load = loadavg()[0]?.toFixed(2);
  const t0 = Date.now();
  let body: string;
  try {
    body = execFileSync(process.execPath, ['--import', 'tsx', b.file, ...b.args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 })
      .split('\n').filter((l) => !/^(Hi there|=+|\s*$)/.test(l) || l === '').join('\n').trim();
  } catch (err) {
    body = `FAILED: ${(err as Error).message.split('\n')[0]}`;
  }
  sections.push(`## ${b.title}\n\n\`${command}\` (${((Date.now() - t0) / 1000).toFixed(0)} s; 1-minute load average ${load} at its start)\n\n${body}\n`);
  console.error(`[bench] ${b.name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const doc = `# Benchmarks\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} in ${((Date.now() - started) / 60000).toFixed(1)} min. ` +
  `Machine: ${machine()}, no GPU (WebGL and WebGPU run on SwiftShader). Every ratio compares against a baseline measured in the same run, ` +
  `so the ratios hold better than the absolute times on a shared machine; the load average shows how busy it was.\n\n${sections.join('\n')}`;
writeFileSync(values.out as string, doc);
console.error(`[bench] wrote ${values.out}`);
