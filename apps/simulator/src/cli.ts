#!/usr/bin/env -S node --import tsx
/**
 * fedtsa simulation: N virtual clients on the wasm backend, KDE clustering, per-cluster
 * widths, rounds of local training plus aggregation.
 *
 *   npm run simulate -- --preset default --compare --out results/fmnist-default
 *   npm run simulate -- --strategy fedtsa-stage1 --rounds 5 --clients 12
 *   npm run simulate -- --dataset data/shapes-idx --preset small --compare
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@fedtsa/core/backend';
import { taskSpec } from '@fedtsa/core/task';
import { loadTaskData, type TaskData } from '@fedtsa/node-io/datasets/task-data';
import { DEFAULT_FASHION_MNIST_DIR } from '@fedtsa/node-io/fashion-mnist';
import { parseCli, USAGE } from './args.ts';
import type { SimulationConfig } from './config.ts';
import { fitClientSamples, splitSizes } from './data-split.ts';
import { buildExperiment } from './experiment.ts';
import { defaultGeneratorDir, stage2Unavailable } from '@fedtsa/node-io/generator-fit';
import { WorkerPool } from './pool.ts';
import { describeClusters, describeTask, summarizeSeeds, toMarkdown, toSvg, type ComparisonReport } from './report.ts';
import { runCentralised, runStrategy, type StrategyResult } from './run.ts';
import { createSimulationFeddf, createSimulationStage2 } from './stage2-setup.ts';

type Log = (m: string) => void;

/** One comparison: every strategy of the config (and the bound) on one seed's partition. */
async function runComparison(config: SimulationConfig, data: TaskData, evalSplit: 'test' | 'validation', notes: string[], log: Log): Promise<ComparisonReport> {
  const built = buildExperiment(config, data.task, data.train, data.test);
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
      const stage2 = name === 'fedtsa' ? createSimulationStage2(config.stage2, exp.spec, config.seed, pool)
        : name === 'feddf' ? createSimulationFeddf(config.stage2, exp.spec, config.seed, pool, config.feddfData ?? 'synthetic', exp.publicPool) : undefined;
      results.push(await runStrategy(name, config, exp, pool, log, stage2?.step));
      if (stage2?.source) log(`${name} synthetic samples: ${stage2.source.stats.generated} generated, ${stage2.source.stats.cached} read from ${config.stage2.cacheDir ?? '(no cache)'}`);
    }
    if (central) results.push(await central);
    log(`seed ${config.seed} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return {
      command: `npm run simulate -- ${process.argv.slice(2).join(' ')}`,
      task: describeTask(exp),
      evaluation: evalSplit === 'validation' ? `the validation split (${exp.test.count} images), not the test set` : exp.evaluation ?? `${exp.test.count} test images`,
      notes,
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

/** Settings the data decides: the clients' sample count, and whether Stage 2's generator fits the task. */
function fitToData(config: SimulationConfig, data: TaskData, clientSamplesExplicit: boolean, log: Log): { config: SimulationConfig; notes: string[] } {
  const notes = [...data.notes];
  const sizes = splitSizes(config, data.train.count, data.test?.count);
  const fit = fitClientSamples(config.clientSamples, clientSamplesExplicit, sizes, config);
  if (fit.note) notes.push(fit.note);
  let strategies = config.strategies;
  // Strategies that draw on the generator: fedtsa, and feddf on its synthetic pool.
  const needGenerator = strategies.filter((s) => s === 'fedtsa' || (s === 'feddf' && (config.feddfData ?? 'synthetic') === 'synthetic'));
  const why = needGenerator.length > 0 ? stage2Unavailable(config.stage2.generatorDir, taskSpec(data.task), data.task.name) : undefined;
  if (why && needGenerator.length === strategies.length && !config.centralised) {
    throw new Error(`${needGenerator.map((s) => `strategy '${s}'`).join(' and ')} cannot run on task '${data.task.name}': ${why}`);
  }
  if (why) {
    strategies = strategies.filter((s) => !needGenerator.includes(s));
    notes.push(`${needGenerator.map((s) => `'${s}'`).join(', ')} skipped: ${why}; the other strategies run`);
  }
  for (const n of notes) log(n);
  return { config: { ...config, clientSamples: fit.clientSamples, strategies }, notes };
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const { out, evalSplit, seeds } = cli;
  const log: Log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  log(`loading ${cli.source.kind === 'fashion-mnist' ? `Fashion-MNIST from ${cli.source.dir ?? DEFAULT_FASHION_MNIST_DIR}` : `the ${cli.source.kind === 'idx' ? 'IDX' : 'image'} folder ${cli.source.dir}`}`);
  const data = loadTaskData(cli.source);
  const [h, w, c] = data.task.inputShape;
  log(`task ${data.task.name}: ${h}x${w}x${c}, ${data.task.classNames.length} classes, ${data.train.count} training images${data.test ? `, ${data.test.count} test images` : ', no test split'}`);
  // The task names its generator (checkpoints/<task>-ddpm) unless --generator names another.
  const named = cli.generatorExplicit ? cli.config : { ...cli.config, stage2: { ...cli.config.stage2, generatorDir: defaultGeneratorDir(data.task.name) } };
  const { config, notes } = fitToData(named, data, cli.clientSamplesExplicit, log);
  await useBackend('wasm'); // the main thread builds the initial weights (and runs Stage 2)
  const reports: ComparisonReport[] = [];
  for (const seed of seeds ?? [config.seed]) {
    const report = await runComparison({ ...config, seed }, data, evalSplit, notes, log);
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
