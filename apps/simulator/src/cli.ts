#!/usr/bin/env -S node --import tsx
/**
 * fedtsa simulation: N virtual clients on the wasm backend, KDE clustering, per-cluster
 * widths, rounds of local training plus aggregation.
 *
 *   npm run simulate -- --preset default --compare --out results/fmnist-default
 *   npm run simulate -- --strategy fedtsa-stage1 --rounds 5 --clients 12
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { DEFAULT_ROUND_POLICY } from '@fedtsa/core/round/policy';
import { DEFAULT_TEACHER_RULE } from '@fedtsa/core/stage2/teachers';
import { STRATEGY_NAMES, type StrategyName } from '@fedtsa/core/strategy/types';
import { PRESETS, validateConfig, type SimulationConfig } from './config.ts';
import { loadFashionMnist, type TrainTest } from '@fedtsa/node-io/fashion-mnist';
import { buildExperiment } from './experiment.ts';
import { WorkerPool } from './pool.ts';
import { describeClusters, summarizeSeeds, toMarkdown, toSvg, type ComparisonReport } from './report.ts';
import { runCentralised, runStrategy, type StrategyResult } from './run.ts';
import { createSimulationStage2 } from './stage2-setup.ts';

const USAGE = `usage: npm run simulate -- [options]
  --preset NAME        ${Object.keys(PRESETS).join(' | ')} (default: demo)
  --compare            run every strategy of the preset plus the centralised upper bound
  --strategy NAME      run one strategy: ${STRATEGY_NAMES.join(' | ')}
  --rounds N  --clients N  --alpha A|iid  --seed N  --epochs N  --lr X  --workers N
  --out DIR            write comparison.md, comparison.json and accuracy.svg there
  --seeds 1,2,3        repeat for each seed (partition, init, sampling); writes seed-N/ and summary.md
  --eval test|validation   evaluate on the test set (default) or, for tuning, the validation split
  --optimizer sgd|adam  --batch N
  Stage 2 ('fedtsa'): --generator DIR (checkpoint, default checkpoints/fmnist-ddpm)
  --pool-size N  --refresh F  --ml-steps N  --temperature T  --lambda L  --ml-lr X  --ml-optimizer sgd|adam
  --pool-cache DIR|off  where generated samples are kept across runs (default .cache/synthetic)
  --min-cosine X        the round's direction screen (core round/policy.ts; default -0.15, -1 = off)
  --teacher-rule on|off  Stage 2's teacher screen (stage2/teachers.ts; default on)
  --teacher-max-logit X  --teacher-min-skill S  --teacher-max-loss-ratio R  its thresholds (defaults in teachers.ts)`;

function parseCli(argv: string[]): { config: SimulationConfig; compare: boolean; out?: string; evalSplit: 'test' | 'validation'; seeds?: number[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'demo' }, compare: { type: 'boolean', default: false }, strategy: { type: 'string' },
      rounds: { type: 'string' }, clients: { type: 'string' }, alpha: { type: 'string' }, seed: { type: 'string' },
      epochs: { type: 'string' }, lr: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
      optimizer: { type: 'string' }, batch: { type: 'string' },
      seeds: { type: 'string' },
      generator: { type: 'string' }, eval: { type: 'string', default: 'test' }, 'pool-size': { type: 'string' }, refresh: { type: 'string' }, 'ml-optimizer': { type: 'string' }, 'pool-cache': { type: 'string' }, 'ml-steps': { type: 'string' }, temperature: { type: 'string' },
      lambda: { type: 'string' }, 'ml-lr': { type: 'string' },
      'min-cosine': { type: 'string' },
      'teacher-rule': { type: 'string' }, 'teacher-max-logit': { type: 'string' }, 'teacher-min-skill': { type: 'string' }, 'teacher-max-loss-ratio': { type: 'string' },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  const preset = PRESETS[values.preset as string];
  if (!preset) throw new Error(`unknown --preset '${values.preset}'; choose one of ${Object.keys(PRESETS).join(', ')}`);
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got '${v}'`);
    return n;
  };
  const config: SimulationConfig = { ...preset, tiers: [...preset.tiers], strategies: [...preset.strategies] };
  config.rounds = num('rounds', values.rounds) ?? config.rounds;
  config.numClients = num('clients', values.clients) ?? config.numClients;
  config.seed = num('seed', values.seed) ?? config.seed;
  const minCosine = num('min-cosine', values['min-cosine']);
  if (minCosine !== undefined) config.policy = { ...DEFAULT_ROUND_POLICY, ...config.policy, minCosine };
  config.localEpochs = num('epochs', values.epochs) ?? config.localEpochs;
  config.learningRate = num('lr', values.lr) ?? config.learningRate;
  config.workers = num('workers', values.workers) ?? config.workers;
  config.batchSize = num('batch', values.batch) ?? config.batchSize;
  if (values.optimizer !== undefined) {
    if (values.optimizer !== 'sgd' && values.optimizer !== 'adam') throw new Error(`--optimizer must be sgd or adam, got '${values.optimizer}'`);
    config.optimizer = values.optimizer;
  }
  config.stage2 = { ...config.stage2, mutualLearning: { ...config.stage2.mutualLearning } };
  if (values.generator !== undefined) config.stage2.generatorDir = values.generator;
  config.stage2.poolSize = num('pool-size', values['pool-size']) ?? config.stage2.poolSize;
  config.stage2.refreshFraction = num('refresh', values.refresh) ?? config.stage2.refreshFraction;
  if (values['pool-cache'] !== undefined) config.stage2.cacheDir = values['pool-cache'] === 'off' ? undefined : values['pool-cache'];
  const ml = config.stage2.mutualLearning;
  const mlOptimizer = values['ml-optimizer'];
  if (mlOptimizer !== undefined) {
    if (mlOptimizer !== 'sgd' && mlOptimizer !== 'adam') throw new Error(`--ml-optimizer must be sgd or adam, got '${mlOptimizer}'`);
    ml.optimizer = mlOptimizer;
  }
  for (const [flag, key] of [['ml-steps', 'steps'], ['temperature', 'temperature'], ['lambda', 'lambda'], ['ml-lr', 'learningRate']] as const) {
    const v = num(flag, values[flag]);
    if (v !== undefined) ml[key] = v;
  }
  const rule = values['teacher-rule'];
  if (rule !== undefined && rule !== 'on' && rule !== 'off') throw new Error(`--teacher-rule must be on or off, got '${rule}'`);
  if (rule === 'off') ml.teacherRule = null;
  else {
    const maxAbsLogit = num('teacher-max-logit', values['teacher-max-logit']);
    const minSkill = num('teacher-min-skill', values['teacher-min-skill']);
    const maxLossRatio = num('teacher-max-loss-ratio', values['teacher-max-loss-ratio']);
    ml.teacherRule = {
      ...DEFAULT_TEACHER_RULE, ...(maxAbsLogit !== undefined ? { maxAbsLogit } : {}), ...(minSkill !== undefined ? { minSkill } : {}),
      ...(maxLossRatio !== undefined ? { maxLossRatio } : {}),
    };
  }
  if (values.alpha !== undefined) config.alpha = values.alpha === 'iid' ? 'iid' : (num('alpha', values.alpha) as number);
  if (values.strategy !== undefined) {
    if (!STRATEGY_NAMES.includes(values.strategy as StrategyName)) throw new Error(`unknown --strategy '${values.strategy}'; choose one of ${STRATEGY_NAMES.join(', ')}`);
    config.strategies = [values.strategy as StrategyName];
    config.centralised = false;
  }
  if (!values.compare && values.strategy === undefined) config.centralised = false;
  validateConfig(config);
  if (values.eval !== 'test' && values.eval !== 'validation') throw new Error(`--eval must be test or validation, got '${values.eval}'`);
  const seeds = values.seeds?.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new Error(`--seeds takes integers separated by commas, got '${values.seeds}'`);
    return n;
  });
  return { config, compare: Boolean(values.compare), out: values.out, evalSplit: values.eval, seeds };
}

type Log = (m: string) => void;

/** One comparison: every strategy of the config (and the bound) on one seed's partition. */
async function runComparison(config: SimulationConfig, data: TrainTest, evalSplit: 'test' | 'validation', log: Log): Promise<ComparisonReport> {
  const built = buildExperiment(config, data.train, data.test);
  // Tuning runs evaluate on the validation split so that defaults never see the test set.
  const exp = evalSplit === 'validation' ? { ...built, test: built.validation } : built;
  if (evalSplit === 'validation') log(`evaluating on the validation split (${exp.test.count} images), not the test set`);
  log(`seed ${config.seed}: ${config.numClients} clients in ${exp.setup.clusters.length} clusters: ` +
    exp.setup.clusters.map((c) => `#${c.index} width ${c.widthRatio} x${c.memberIds.length}`).join(', '));
  const pool = await WorkerPool.create(exp.spec, exp.clientData, exp.test, config.workers);
  try {
    const started = performance.now();
    // The centralised bound is one long job per epoch: run it beside the strategies.
    const central = config.centralised ? runCentralised(config, exp, pool, log) : undefined;
    const results: StrategyResult[] = [];
    for (const name of config.strategies) {
      const stage2 = name === 'fedtsa' ? createSimulationStage2(config.stage2, exp.spec, config.seed, pool) : undefined;
      results.push(await runStrategy(name, config, exp, pool, log, stage2?.step));
      if (stage2) log(`fedtsa synthetic samples: ${stage2.source.stats.generated} generated, ${stage2.source.stats.cached} read from ${config.stage2.cacheDir ?? '(no cache)'}`);
    }
    if (central) results.push(await central);
    log(`seed ${config.seed} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return {
      command: `npm run simulate -- ${process.argv.slice(2).join(' ')}`,
      config,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${config.workers} workers, tfjs wasm`,
      clusters: describeClusters(exp),
      kdeBoundaries: exp.setup.kde.boundaries,
      results,
    };
  } finally {
    await pool.close();
  }
}

function writeReport(dir: string, report: ComparisonReport, log: Log): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'comparison.md'), toMarkdown(report));
  writeFileSync(join(dir, 'comparison.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(dir, 'accuracy.svg'), toSvg(report));
  log(`wrote ${dir}/comparison.md, comparison.json, accuracy.svg`);
}

async function main(): Promise<void> {
  const { config, out, evalSplit, seeds } = parseCli(process.argv.slice(2));
  const log: Log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  log('loading Fashion-MNIST');
  const data = loadFashionMnist();
  await useBackend('wasm'); // the main thread builds the initial weights (and runs Stage 2)
  const reports: ComparisonReport[] = [];
  for (const seed of seeds ?? [config.seed]) {
    const report = await runComparison({ ...config, seed }, data, evalSplit, log);
    reports.push(report);
    console.log(toMarkdown(report));
    if (out) writeReport(seeds ? join(out, `seed-${seed}`) : out, report, log);
  }
  if (seeds && out) {
    writeFileSync(join(out, 'summary.md'), summarizeSeeds(reports));
    log(`wrote ${out}/summary.md`);
  }
  if (seeds) console.log(summarizeSeeds(reports));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  console.error(USAGE);
  process.exit(1);
});
