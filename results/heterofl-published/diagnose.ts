/**
 * Why does heterofl's width-1/4 submodel stop learning on seed 3? Runs heterofl as
 * `npm run simulate -- --preset stage2 --strategy heterofl --seed 3` does, and after every round
 * looks at the served models on 1,000 test images: per hidden layer, how many units fire on at
 * least one image (a unit that fires on none is dead: it passes no gradient), the spread of the
 * logits across images, and the accuracy. For the width-1 model (the global model) it also
 * reports how many of the first-quarter units fire when the other three quarters are there.
 *
 *   node --import tsx results/heterofl-published/diagnose.ts --variant plain --preset stage2 --strategy heterofl --seed 3
 * --variant: plain (results/fmnist-stage2's heterofl), scaler, mask, published (default);
 * --safeguards off: the round's screens and limits out of reach, as before issue 12.
 */
import { useBackend } from '@fedtsa/core/backend';
import { subset } from '@fedtsa/core/data/dataset';
import { HETEROFL_VARIANTS, type HeteroflVariant } from '@fedtsa/core/strategy/heterofl';
import { loadTaskData } from '@fedtsa/node-io/datasets/task-data';
import { parseCli } from '@fedtsa/simulator/args';
import { fitClientSamples, splitSizes } from '@fedtsa/simulator/data-split';
import { buildExperiment } from '@fedtsa/simulator/experiment';
import { WorkerPool } from '@fedtsa/simulator/pool';
import { runStrategy } from '@fedtsa/simulator/run';
import * as tf from '@tensorflow/tfjs-core';
import { inspect } from './inspect.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--variant');
  const variant = at >= 0 ? argv.splice(at, 2)[1] as string : 'published';
  if (!Object.hasOwn(HETEROFL_VARIANTS, variant)) throw new Error(`--variant must be one of ${Object.keys(HETEROFL_VARIANTS).join(', ')}, got '${variant}'`);
  const heterofl = HETEROFL_VARIANTS[variant as HeteroflVariant];
  // --safeguards off: the round's screens, caps and limits out of reach (the round before issue 12 had none).
  const off = argv.indexOf('--safeguards');
  const safeguardsOff = off >= 0 && argv.splice(off, 2)[1] === 'off';
  const cli = parseCli(argv);
  const data = loadTaskData(cli.source);
  const sizes = splitSizes(cli.config, data.train.count, data.test?.count);
  const fit = fitClientSamples(cli.config.clientSamples, cli.clientSamplesExplicit, sizes, cli.config);
  const config = { ...cli.config, clientSamples: fit.clientSamples, seed: cli.seeds?.[0] ?? cli.config.seed, heterofl,
    ...(safeguardsOff ? { policy: { normMultiple: 1e30, minCosine: -1, minConsensus: -1, claimMultiple: 1e30, maxClientShare: 1, changeMultiple: 1e30, firstChangeOfNorm: 1e30, changeFloorOfNorm: 0 } } : {}) };
  await useBackend('wasm');
  const exp = buildExperiment(config, data.task, data.train, data.test);
  const rows = Int32Array.from({ length: 1000 }, (_, i) => i);
  const probe = subset(exp.test, rows);
  const [h, w, c] = exp.spec.inputShape;
  const x = tf.tensor4d(probe.images, [probe.count, h, w, c]);
  console.log(`heterofl variant ${variant} ${JSON.stringify(heterofl)}, safeguards ${safeguardsOff ? 'off' : 'on'}, seed ${config.seed}: clusters ${exp.setup.clusters.map((k) => `#${k.index} w${k.widthRatio} x${k.memberIds.length}`).join(', ')}`);
  const pool = await WorkerPool.create(exp.spec, exp.clientData, exp.test, config.workers);
  try {
    for (const name of config.strategies) {
      await runStrategy(name, config, exp, pool, (m) => console.error(m), undefined, (round, models) => {
        const seen = new Set<number>();
        for (const m of models) {
          if (seen.has(m.widthRatio)) continue;
          seen.add(m.widthRatio);
          const r = inspect(exp.spec, m.widthRatio, m.weights, x, probe.labels);
          const layers = r.layers.map((l, i) => `${['conv1', 'conv2', 'fc1'][i]} ${l.alive}/${l.units}` + (m.widthRatio === 1 ? ` (first quarter ${l.firstQuarterAlive}/${l.firstQuarter})` : '')).join(', ');
          console.log(`${name} round ${round} w${m.widthRatio}: acc ${(r.accuracy * 100).toFixed(1)}%, alive ${layers}, logit std ${r.zStd.toFixed(3)}, mean fc1 act ${r.hidMean.toFixed(3)}, fc1 biases < 0: ${r.biasFc1}`);
        }
      });
    }
  } finally {
    await pool.close();
    x.dispose();
  }
}

await main();
