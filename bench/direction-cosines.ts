/**
 * Measures how far honest updates agree in direction, to set the direction screen's threshold
 * (docs/robustness.md): the demo's Dirichlet(0.5) shards of Fashion-MNIST, clusters of n clients
 * trained from the same model for one epoch (round 1 from initialisation; round 3 after two
 * rounds of FedAvg), cosine of each update's change with the coordinate-wise median change of
 * its cluster (all updates, and leave-one-out), and the same for each update sign-flipped.
 *
 *   node --import tsx bench/direction-cosines.ts [--shard 300] [--draws 12] [--sizes 4,5,6,8] [--flippers K] [--rounds 1,3] [--lr 0.05] [--gates -1,0,0.1]
 *
 * The SCREEN lines run the screen at its defaults with each consensus gate of --gates; the CONSENSUS
 * line gives, per cluster, the median of its leave-one-out cosines, which the gate compares with
 * `minConsensus`.
 */
import { parseArgs } from 'node:util';
import { fedAvg } from '@fedtsa/core/aggregate';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import { buildModel, getFlatWeights, initialWeights, setFlatWeights } from '@fedtsa/core/model';
import { createRng, deriveSeed } from '@fedtsa/core/rng';
import { changeCosine, DEFAULT_SCREEN_SETTINGS, l2Distance, leaveOneOutCosines, median, medianChange, screenClusterUpdates } from '@fedtsa/core/screening/update-screen';
import { extractSubmodel } from '@fedtsa/core/submodel';
import { FASHION_MNIST_TASK, taskSpec } from '@fedtsa/core/task';
import { trainLocal } from '@fedtsa/core/train';
import { loadFashionMnist } from '@fedtsa/node-io/fashion-mnist';
import { DemoData } from '../apps/coordinator/src/demo-data.ts';
import { shardToImages } from '../apps/coordinator/src/virtual-client/virtual-client.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1,3' }, gates: { type: 'string' }, sizes: { type: 'string' }, flippers: { type: 'string' }, shard: { type: 'string', default: '300' }, draws: { type: 'string', default: '12' }, lr: { type: 'string', default: '0.05' }, batch: { type: 'string', default: '32' } } });
const SPEC: ModelSpec = taskSpec(FASHION_MNIST_TASK);
await useBackend('wasm');
const { train } = loadFashionMnist();
const demo = new DemoData(train, { shards: 24, samplesPerShard: Number(values.shard), alpha: 0.5, seed: 1 });
const shards = Array.from({ length: demo.shardCount }, (_, i) => shardToImages(demo.shard(i)!, FASHION_MNIST_TASK));
const lr = Number(values.lr);
const batchSize = Number(values.batch);

function trainFrom(weights: Float32Array, width: number, shard: number, seed: number): Float32Array {
  const m = buildModel(SPEC, width);
  setFlatWeights(m, weights, modelManifest(SPEC, width));
  trainLocal(m, shards[shard]!, { epochs: 1, batchSize, learningRate: lr, optimizer: 'sgd', rng: createRng(seed) });
  const w = getFlatWeights(m);
  m.dispose();
  return w;
}

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(3);
  return `min ${s[0]!.toFixed(3)} p5 ${q(0.05)} median ${q(0.5)} max ${s[s.length - 1]!.toFixed(3)}`;
};

const meanChange = (start: Float32Array, ws: readonly Float32Array[]) => {
  const out = new Float32Array(start.length);
  for (const w of ws) for (let i = 0; i < out.length; i++) out[i] += ((w[i] as number) - (start[i] as number)) / ws.length;
  return out;
};
/** The statistics compared: the change's cosine with a consensus direction of its cluster. */
const STATS = {
  'median of all': (start: Float32Array, ws: Float32Array[], k: number) => changeCosine(start, ws[k]!, medianChange(start, ws)),
  'median of others': (start: Float32Array, ws: Float32Array[], k: number) => changeCosine(start, ws[k]!, medianChange(start, ws.filter((_, j) => j !== k))),
  'mean of others': (start: Float32Array, ws: Float32Array[], k: number) => changeCosine(start, ws[k]!, meanChange(start, ws.filter((_, j) => j !== k))),
};
/** The consensus gates compared (-1: every cluster is screened, the rule before the gate). */
const GATES = [...new Set((values.gates ?? '-1,0,0.1').split(',').map(Number))];
const flippers = Number(values.flippers ?? 0) || undefined;
console.log(`shard ${values.shard}, lr ${lr}, batch ${batchSize}, one local epoch, Dirichlet 0.5; attackers flip their own honest update`);
for (const width of [1]) {
  for (const n of (values.sizes ?? '4,5,6,8').split(',').map(Number)) {
    const attackers = flippers ?? Math.floor(n / 4);
    for (const round of values.rounds.split(',').map(Number)) {
      const honest = new Map<string, number[]>();
      const flipped = new Map<string, number[]>();
      const consensus = { clean: [] as number[], attacked: [] as number[] };
      const screens = new Map(GATES.map((g) => [g, { honestDropped: 0, honestSeen: 0, flippedDropped: 0, flippedSeen: 0, cleanDropped: 0, cleanSeen: 0 }]));
      for (let d = 0; d < Number(values.draws); d++) {
        const rng = createRng(deriveSeed(d, n, round));
        const members = Array.from({ length: n }, () => Math.floor(rng.next() * shards.length));
        let start = extractSubmodel(initialWeights(SPEC, d + 1), SPEC, width);
        for (let r = 1; r < round; r++) {
          start = fedAvg(members.map((s, k) => ({ weights: trainFrom(start, width, s, deriveSeed(d, r, k)), numSamples: shards[s]!.count })));
        }
        const trained = members.map((s, k) => trainFrom(start, width, s, deriveSeed(d, round, k)));
        const clean = trained;
        const attacked = trained.map((u, k) => (k < attackers ? Float32Array.from(u, (v, i) => 2 * start[i]! - v) : u));
        // The screen itself (default settings), on the clean cluster and on the attacked one.
        consensus.clean.push(median(leaveOneOutCosines(start, clean))!);
        consensus.attacked.push(median(leaveOneOutCosines(start, attacked))!);
        for (const minConsensus of GATES) {
          const run = (ws: Float32Array[]) => screenClusterUpdates(start, ws.map((w, k) => ({ clientId: String(k), weights: w, distance: l2Distance(start, w) })), { ...DEFAULT_SCREEN_SETTINGS, minConsensus });
          const s = screens.get(minConsensus)!;
          const cleanDrops = run(clean).dropped.map((x) => Number(x.clientId));
          s.cleanDropped += cleanDrops.length;
          s.cleanSeen += n;
          const drops = run(attacked).dropped.map((x) => Number(x.clientId));
          s.flippedDropped += drops.filter((k) => k < attackers).length;
          s.flippedSeen += attackers;
          s.honestDropped += drops.filter((k) => k >= attackers).length;
          s.honestSeen += n - attackers;
        }
        for (const [name, stat] of Object.entries(STATS)) {
          for (let k = 0; k < n; k++) honest.set(name, [...(honest.get(name) ?? []), stat(start, clean, k)]);
          for (let k = 0; k < attackers; k++) flipped.set(name, [...(flipped.get(name) ?? []), stat(start, attacked, k)]);
          for (let k = attackers; k < n; k++) honest.set(`${name} (attacked)`, [...(honest.get(`${name} (attacked)`) ?? []), stat(start, attacked, k)]);
        }
      }
      for (const [gate, screen] of screens) {
        console.log(`n ${n} (${attackers} flipped) round ${round} SCREEN minConsensus ${gate}: clean clusters: ${screen.cleanDropped} of ${screen.cleanSeen} honest dropped; attacked: `
          + `${screen.flippedDropped} of ${screen.flippedSeen} flipped dropped, ${screen.honestDropped} of ${screen.honestSeen} honest dropped`);
      }
      console.log(`n ${n} (${attackers} flipped) round ${round} CONSENSUS (median leave-one-out cosine per cluster): clean ${quantiles(consensus.clean)} | attacked ${quantiles(consensus.attacked)}`);
      for (const name of Object.keys(STATS)) {
        console.log(`n ${n} (${attackers} flipped) round ${round} ${name}: honest ${quantiles(honest.get(name)!)} | honest beside flippers ${quantiles(honest.get(`${name} (attacked)`)!)} | flipped ${quantiles(flipped.get(name)!)}`);
      }
    }
  }
}
