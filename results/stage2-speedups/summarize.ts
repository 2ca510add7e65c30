/**
 * Summarises issue 17's accuracy checks (run.sh): each variant minus fedtsa at its defaults,
 * paired per seed, on the validation split, with the clusters' accuracies and the Stage 2 time.
 *
 *   node --import tsx results/stage2-speedups/summarize.ts > results/stage2-speedups/summary.md
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Round { round: number; serverStepMs: number; serverStepStats: Record<string, number> }
interface Cluster { widthRatio: number; accuracy: number }
interface Comparison { results: { name: string; rounds: Round[]; final: { meanAccuracy: number; clusters: Cluster[] } }[] }

const dir = fileURLToPath(new URL('.', import.meta.url));
const load = (name: string) => {
  const file = `${dir}${name}/comparison.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Comparison).results[0] : undefined;
};
const VARIANTS: Record<string, string> = {
  overlap: '`--overlap on`: round r\'s mutual learning runs while round r+1 trains; its change is added at round r+1\'s close',
  steps25: '`--ml-steps 25`: half the mutual-learning steps per round (25 batches of 64 instead of 50)',
  'widest-teaches': '`--ml-widest-learns off`: the widest cluster only teaches (0.39 of the mutual-learning work with 2 clusters, BENCHMARKS.md). Run at 17b872b (the parallel runner and the fused training step), paired with the baselines made at 0695abf: the new-code baseline of seed 1 below says how far the code change alone moves a run',
};
const seeds = [1, 2, 3];
const pct = (x: number) => (100 * x).toFixed(2);
const meanSd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${m >= 0 ? '+' : ''}${m.toFixed(2)} +- ${sd.toFixed(2)}`;
};
/** Median time per round of the server step: inline in the close, or (overlap) deferred to the next round's training (a median: a run paused for a CI has one huge round). */
const stage2Sec = (rounds: Round[]) => {
  const t = rounds.map((r) => r.serverStepMs + (r.serverStepStats.deferredStepMs ?? 0)).sort((a, b) => a - b);
  return (t[Math.floor(t.length / 2)] ?? 0) / 1000;
};

const lines = ['# Stage 2 speed-ups and overlap: what they cost in accuracy', '',
  'Command: `bash results/stage2-speedups/run.sh VARIANT SEED` for VARIANT in baseline, overlap, steps25, widest-teaches and seeds 1-3',
  '(`--preset default --strategy fedtsa --eval validation`, 20 rounds, the committed generator), then',
  '`node --import tsx results/stage2-speedups/summarize.ts`. Every figure is on the 5,000-image validation split, never the test set.',
  'The rule (issue 17): a default changes only for a variant whose mean paired difference is within 0.3 points.', ''];
const base = new Map(seeds.map((s) => [s, load(`baseline-seed-${s}`)]));
lines.push('## fedtsa at its defaults', '', '| seed | member-weighted mean | clusters | Stage 2 per round (s) |', '|---|---|---|---|');
for (const s of seeds) {
  const b = base.get(s);
  lines.push(b ? `| ${s} | ${pct(b.final.meanAccuracy)} | ${b.final.clusters.map((c) => `w${c.widthRatio} ${pct(c.accuracy)}`).join(', ')} | ${stage2Sec(b.rounds).toFixed(1)} |` : `| ${s} | missing | | |`);
}
const newBase = load('baseline-17b872b-seed-1');
const oldBase = base.get(1);
if (newBase && oldBase) {
  const d = 100 * (newBase.final.meanAccuracy - oldBase.final.meanAccuracy);
  lines.push('', `The same baseline (seed 1) at 17b872b, after the fused training step (issue 19) and the parallel mutual-learning runner, both exact up to float order: ${pct(newBase.final.meanAccuracy)} against ${pct(oldBase.final.meanAccuracy)} at 0695abf, ${d >= 0 ? '+' : ''}${d.toFixed(2)} points (${newBase.final.clusters.map((c) => `w${c.widthRatio} ${pct(c.accuracy)}`).join(', ')}).`);
}
for (const [name, what] of Object.entries(VARIANTS)) {
  lines.push('', `## ${name}`, '', what, '', '| seed | baseline | variant | difference (points) | clusters (variant) | Stage 2 per round (s) |', '|---|---|---|---|---|---|');
  const diffs: number[] = [];
  for (const s of seeds) {
    const b = base.get(s);
    const v = load(`${name}-seed-${s}`);
    if (!b || !v) {
      lines.push(`| ${s} | ${b ? pct(b.final.meanAccuracy) : 'missing'} | ${v ? pct(v.final.meanAccuracy) : 'missing'} | | | |`);
      continue;
    }
    const d = 100 * (v.final.meanAccuracy - b.final.meanAccuracy);
    diffs.push(d);
    lines.push(`| ${s} | ${pct(b.final.meanAccuracy)} | ${pct(v.final.meanAccuracy)} | ${d >= 0 ? '+' : ''}${d.toFixed(2)} | ${v.final.clusters.map((c) => `w${c.widthRatio} ${pct(c.accuracy)}`).join(', ')} | ${stage2Sec(v.rounds).toFixed(1)} |`);
  }
  lines.push('', diffs.length > 0 ? `Paired difference over ${diffs.length} seed(s): **${meanSd(diffs)} points** (mean +- sd).` : 'No paired seed yet.');
}
console.log(lines.join('\n'));
