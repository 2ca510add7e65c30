/**
 * The sweep's plots, SVG without dependencies (in the style of report.ts toSvg): the mean over
 * seeds of the per-round accuracy against the round, and against the simulated clock.
 */
import { CENTRALISED } from './sweep-plan.ts';
import type { DoneCell } from './sweep-summary.ts';

export interface CurvePoint {
  round: number;
  /** Mean over the seeds that have this round. */
  accuracy: number;
  /** Mean over those seeds of simulatedElapsedSec; absent when none has a clock (the bound). */
  simulatedSec?: number;
}

export interface Curve {
  arm: string;
  points: CurvePoint[];
  /** Mean final accuracy on the whole test set. */
  final: number;
  /** The arm's place in the full arm list, so an arm keeps its colour in every plot. */
  colorIndex: number;
}

/** One curve per arm with cells, in `arms` order. */
export function meanCurves(cells: DoneCell[], arms: string[]): Curve[] {
  return arms.flatMap((arm, colorIndex) => {
    const own = cells.filter((c) => c.arm === arm);
    if (own.length === 0) return [];
    const rounds = [...new Set(own.flatMap((c) => c.result.rounds.map((r) => r.round)))].sort((a, b) => a - b);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const points = rounds.map((round): CurvePoint => {
      const at = own.map((c) => c.result.rounds.find((r) => r.round === round)).filter((r) => r !== undefined);
      const sims = at.map((r) => r.simulatedElapsedSec).filter((s): s is number => s !== undefined);
      return { round, accuracy: mean(at.map((r) => r.meanAccuracy)), ...(sims.length > 0 ? { simulatedSec: mean(sims) } : {}) };
    });
    return [{ arm, points, final: mean(own.map((c) => c.result.final.meanAccuracy)), colorIndex }];
  });
}

/** Nine distinguishable colours (tab10 without grey). */
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf'];

function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) as number) * p;
}

/**
 * `x: 'round'` plots every curve against its rounds; `x: 'time'` against the simulated clock,
 * with curves that have none (the bound) as a dashed horizontal line at their final accuracy.
 */
export function curvesSvg(curves: Curve[], x: 'round' | 'time', title: string): string {
  const W = 760, H = 440, L = 60, R = 170, T = 34, B = 50;
  const xOf = (p: CurvePoint) => (x === 'round' ? p.round : p.simulatedSec);
  const lines = curves.filter((c) => x === 'round' || c.points.some((p) => p.simulatedSec !== undefined));
  const flat = x === 'time' ? curves.filter((c) => !lines.includes(c)) : [];
  const xs = lines.flatMap((c) => c.points.map(xOf)).filter((v): v is number => v !== undefined);
  const ys = [...lines.flatMap((c) => c.points.map((p) => p.accuracy)), ...flat.map((c) => c.final)];
  const xMin = x === 'round' ? 1 : 0;
  const xMax = Math.max(xMin + 1, ...xs);
  const yMin = ys.length ? Math.max(0, Math.floor(Math.min(...ys) * 10) / 10 - 0.05) : 0;
  const yMax = ys.length ? Math.min(1, Math.ceil(Math.max(...ys) * 10) / 10) : 1;
  const px = (v: number) => L + ((v - xMin) / (xMax - xMin)) * (W - L - R);
  const py = (acc: number) => T + (1 - (acc - yMin) / Math.max(1e-9, yMax - yMin)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="14">${title}</text>`,
  ];
  const yStep = yMax - yMin > 0.5 ? 0.1 : 0.05;
  for (let t = Math.ceil(yMin / yStep) * yStep; t <= yMax + 1e-9; t += yStep) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#ddd"/>`, `<text x="${L - 40}" y="${(py(t) + 4).toFixed(1)}">${(t * 100).toFixed(0)}%</text>`);
  }
  const xStep = niceStep(xMax - xMin, x === 'round' ? 10 : 8);
  for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax + 1e-9; v += xStep) parts.push(`<text x="${(px(v) - 6).toFixed(1)}" y="${H - B + 18}">${+v.toFixed(6)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2 - 40}" y="${H - 12}">${x === 'round' ? 'round' : 'simulated time (s)'}</text>`);
  curves.forEach((c, i) => {
    const color = COLORS[c.colorIndex % COLORS.length] as string;
    const dash = c.arm === CENTRALISED ? ' stroke-dasharray="6 4"' : '';
    if (flat.includes(c)) {
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(c.final).toFixed(1)}" y2="${py(c.final).toFixed(1)}" stroke="${color}" stroke-width="2"${dash || ' stroke-dasharray="6 4"'}/>`);
    } else {
      const pts = c.points.filter((p) => xOf(p) !== undefined).map((p) => `${px(xOf(p) as number).toFixed(1)},${py(p.accuracy).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts}"/>`);
    }
    parts.push(`<rect x="${W - R + 15}" y="${T + i * 20}" width="14" height="4" fill="${color}"/>`, `<text x="${W - R + 35}" y="${T + i * 20 + 6}">${c.arm}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
