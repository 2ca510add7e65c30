// Summarises the learning-rate tuning sweep: per alpha and lr, each arm's final validation accuracy
// (member-weighted mean over clusters) per seed, and its lowest cluster. Usage: node summarise.mjs DIR
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2] ?? new URL('.', import.meta.url).pathname;
const lrs = readdirSync(dir).filter((d) => d.startsWith('lr-')).sort((a, b) => Number(b.slice(3)) - Number(a.slice(3)));
const rows = [];
for (const lr of lrs) {
  const cells = join(dir, lr, 'cells');
  for (const a of readdirSync(cells).sort()) for (const s of readdirSync(join(cells, a)).sort()) for (const arm of readdirSync(join(cells, a, s)).sort()) {
    const f = join(cells, a, s, arm, 'comparison.json');
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, 'utf8')).results[0];
    rows.push({ lr: lr.slice(3), alpha: a.slice(6), seed: s.slice(5), arm, acc: r.final.meanAccuracy, min: Math.min(...r.final.clusters.map((c) => c.accuracy)) });
  }
}
const pct = (x) => (100 * x).toFixed(1);
console.log('| alpha | lr | arm | final, per seed | lowest cluster, per seed | mean |');
console.log('|---|---|---|---|---|---|');
const key = (r) => `${r.alpha}|${r.lr}|${r.arm}`;
const groups = new Map();
for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
const alphas = [...new Set(rows.map((r) => r.alpha))];
for (const alpha of alphas) {
  const perLr = new Map();
  for (const [k, g] of groups) {
    if (g[0].alpha !== alpha) continue;
    const mean = g.reduce((x, r) => x + r.acc, 0) / g.length;
    console.log(`| ${alpha} | ${g[0].lr} | ${g[0].arm} | ${g.map((r) => pct(r.acc)).join(', ')} | ${g.map((r) => pct(r.min)).join(', ')} | ${pct(mean)} |`);
    perLr.set(g[0].lr, [...(perLr.get(g[0].lr) ?? []), ...g]);
  }
  const scored = [...perLr].map(([lr, g]) => ({ lr, mean: g.reduce((x, r) => x + r.acc, 0) / g.length, dead: g.filter((r) => r.min < 0.15).length }));
  console.log(`| ${alpha} | **per lr, both arms** | | ${scored.map((s) => `lr ${s.lr}: ${pct(s.mean)} (${s.dead} runs with a cluster below 15%)`).join('; ')} | | |`);
}
