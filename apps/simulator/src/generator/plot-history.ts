#!/usr/bin/env -S node --import tsx
/**
 * The generator's training curve as an SVG: the diffusion loss at every logged step, and the
 * fidelity measured during training (and the final measurement, from fidelity-*.json).
 *   node --import tsx apps/simulator/src/generator/plot-history.ts checkpoints/fmnist-ddpm [samples per measurement during training, default 100]
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'checkpoints/fmnist-ddpm';
const duringSamples = Number(process.argv[3] ?? 100);
const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
  modelTopology: { step: number; history: { step: number; loss: number; fidelity?: number }[] };
};
const history = model.modelTopology.history;
const fidelity = history.filter((h) => h.fidelity !== undefined).map((h) => ({ step: h.step, value: h.fidelity as number, samples: 'during training' }));
for (const f of existsSync(dir) ? readdirSync(dir).filter((x) => /^fidelity-.*\.json$/.test(x)) : []) {
  const j = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { step: number; overall: number; samples: number };
  fidelity.push({ step: j.step, value: j.overall, samples: `${j.samples} samples` });
}

const W = 720, H = 460, L = 70, R = 30, T = 30, mid = 230, B = 50;
const maxStep = Math.max(...history.map((h) => h.step));
const x = (s: number) => L + (s / maxStep) * (W - L - R);
const losses = history.map((h) => h.loss);
const lo = Math.log10(Math.min(...losses)), hi = Math.log10(Math.max(...losses));
const yLoss = (v: number) => T + (1 - (Math.log10(v) - lo) / (hi - lo)) * (mid - T - 20);
const yFid = (v: number) => mid + 20 + (1 - v) * (H - B - mid - 20);
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${L}" y="18" font-size="14">Generator training: diffusion loss (log scale) and fidelity by step</text>`,
];
for (const v of [0.1, 0.2, 0.5, 1]) {
  if (Math.log10(v) < lo - 0.01 || Math.log10(v) > hi + 0.01) continue;
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${yLoss(v)}" y2="${yLoss(v)}" stroke="#ddd"/><text x="${L - 35}" y="${yLoss(v) + 4}">${v}</text>`);
}
parts.push(`<polyline fill="none" stroke="#2f6fdb" stroke-width="1.5" points="${history.map((h) => `${x(h.step).toFixed(1)},${yLoss(h.loss).toFixed(1)}`).join(' ')}"/>`);
parts.push(`<text x="8" y="${(T + mid) / 2}">loss</text>`);
for (const v of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<line x1="${L}" x2="${W - R}" y1="${yFid(v)}" y2="${yFid(v)}" stroke="#ddd"/><text x="${L - 40}" y="${yFid(v) + 4}">${v * 100}%</text>`);
parts.push(`<text x="8" y="${(mid + H - B) / 2}">fidelity</text>`);
for (const f of fidelity) {
  parts.push(`<circle cx="${x(f.step)}" cy="${yFid(f.value)}" r="5" fill="${f.samples === 'during training' ? '#d9480f' : '#2b8a3e'}"/>`,
    `<text text-anchor="end" x="${x(f.step) - 8}" y="${yFid(f.value) + (f.samples === 'during training' ? -8 : 18)}">${(f.value * 100).toFixed(1)}% at step ${f.step} (${f.samples === 'during training' ? `${duringSamples} samples` : f.samples})</text>`);
}
for (let s = 0; s <= maxStep; s += 500) parts.push(`<text x="${x(s) - 10}" y="${H - B + 18}">${s}</text>`);
parts.push(`<text x="${(L + W - R) / 2 - 15}" y="${H - 12}">step</text>`, '</svg>');
const out = join(dir, 'fidelity-curve.svg');
writeFileSync(out, parts.join('\n'));
console.log(`wrote ${out}: ${history.length} loss points, ${fidelity.length} fidelity points`);
