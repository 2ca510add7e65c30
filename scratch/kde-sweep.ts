import { clusterByCapability } from '../packages/fedtsa-core/src/kde.ts';
import { createRng, randomNormal } from '../packages/fedtsa-core/src/rng.ts';
const tiers = [25, 200, 1500];
for (const n of [12, 30, 100]) for (const f of [0.4, 0.5, 0.6]) for (const p of [0.5, 0.7, 0.85]) {
  let ok3 = 0, ok1 = 0; const T = 200;
  for (let s = 0; s < T; s++) {
    const rng = createRng(s);
    const multi = Array.from({ length: n }, (_, i) => ({ id: 'c' + i, samplesPerSec: tiers[i % 3]! * Math.exp(0.3 * randomNormal(rng)) }));
    const uni = Array.from({ length: n }, (_, i) => ({ id: 'c' + i, samplesPerSec: 200 * Math.exp(0.8 * randomNormal(rng)) }));
    const minClusterSize = Math.max(2, Math.ceil(0.1 * n));
    if (clusterByCapability(multi, { bandwidthFactor: f, minProminence: p, minClusterSize }).clusters.length === 3) ok3++;
    if (clusterByCapability(uni, { bandwidthFactor: f, minProminence: p, minClusterSize }).clusters.length === 1) ok1++;
  }
  console.log(`n=${n} f=${f} p=${p}: 3-tier ${(ok3 / T * 100).toFixed(0)}%  unimodal ${(ok1 / T * 100).toFixed(0)}%`);
}
