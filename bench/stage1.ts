/**
 * Stage 1 averaging of K updates (fedAvg, as the coordinator runs it) against a bare
 * typed-array weighted-sum loop over the same updates, in the same process.
 *   node --import tsx bench/stage1.ts
 */
import { fedAvg } from '@fedtsa/core/aggregate';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { fmt, medianMs, table } from './lib.ts';

const n = parameterCount(modelManifest({ inputShape: [28, 28, 1], numClasses: 10 }, 1));

/** The baseline: the least work a weighted mean can do, float32 accumulation, no checks. */
function bareWeightedSum(updates: { weights: Float32Array; numSamples: number }[]): Float32Array {
  const total = updates.reduce((s, u) => s + u.numSamples, 0);
  const out = new Float32Array(n);
  for (const u of updates) {
    const a = u.numSamples / total;
    const w = u.weights;
    for (let j = 0; j < n; j++) out[j] += a * w[j]!;
  }
  return out;
}

const rows: (string | number)[][] = [];
for (const k of [10, 50, 200]) {
  const updates = Array.from({ length: k }, (_, i) => ({ weights: Float32Array.from({ length: n }, (_, j) => Math.sin(i + j)), numSamples: 100 + i }));
  const bare = await medianMs(() => bareWeightedSum(updates), 7, 2);
  const ours = await medianMs(() => fedAvg(updates), 7, 2);
  rows.push([k, n.toLocaleString('en'), fmt(bare), fmt(ours), fmt(ours / bare)]);
}
console.log(`fedAvg of K width-1 updates (${n.toLocaleString('en')} parameters) against a bare float32 weighted-sum loop; median of 7.\n`);
console.log(table(['K', 'parameters', 'bare loop (ms)', 'fedAvg (ms)', 'ratio'], rows));
