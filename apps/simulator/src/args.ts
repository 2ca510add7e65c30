/**
 * The simulation's command line: flags to a SimulationConfig, the task's data source and
 * the run's options. Every bad value is refused with the flag's name.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ROUND_POLICY } from '@fedtsa/core/round/policy';
import { DEFAULT_TEACHER_RULE } from '@fedtsa/core/stage2/teachers';
import { HETEROFL_VARIANTS, type HeteroflVariant } from '@fedtsa/core/strategy/heterofl';
import { STRATEGY_NAMES, type StrategyName } from '@fedtsa/core/strategy/types';
import { parseImageSize } from '@fedtsa/node-io/datasets/task-name';
import { detectTaskSource, type TaskSource } from '@fedtsa/node-io/datasets/task-data';
import { PRESETS, validateConfig, type SimulationConfig } from './config.ts';
import { DEFAULT_WALL_CLOCK, parseBandwidth } from './wall-clock.ts';

export const USAGE = `usage: npm run simulate -- [options]
  --dataset DIR        the task's data: a folder of IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
                       optional t10k-* test files and classes.txt) or of images (one subfolder of PNG/JPEG per class,
                       optionally under train/ and test/); auto-detected. Default: Fashion-MNIST from
                       /usr/share/datasets/fashion-mnist (or FEDTSA_DATASET_DIR)
  --image-size HxWxC   the task's input shape, e.g. 32x32x3 (sides multiples of 4 from 16 to 64; C 1 or 3). Default:
                       IDX files' own size (resized into the nearest valid one), image folders 32x32 with 3 channels if
                       any image has colour, else 1
  --public-fraction F  share of the training set held out as the generator's public pool (default 1/6: 10,000 of Fashion-MNIST's 60,000)
  --validation-fraction F  share held out for tuning (default 1/12: 5,000 of 60,000)
  --test-fraction F    for a dataset without a test split, share of its training set held out as the test set (default 1/6)
  --client-samples N   images the clients share (default the preset's, or all left when the dataset has fewer)
  --preset NAME        ${Object.keys(PRESETS).join(' | ')} (default: demo)
  --compare            run every strategy of the preset plus the centralised upper bound
  --strategy NAME[,NAME]  run these strategies only: ${STRATEGY_NAMES.join(' | ')}; 'centralised' adds the
                       upper bound (alone: the bound only)
  --rounds N  --clients N  --alpha A|iid  --seed N  --epochs N  --lr X  --workers N
  --out DIR            write comparison.md, comparison.json and accuracy.svg there
  --seeds 1,2,3        repeat for each seed (partition, init, sampling); writes seed-N/ and summary.md
  --eval test|validation   evaluate on the test set (default) or, for tuning, the validation split
  --optimizer sgd|adam  --batch N
  --bandwidth TIER=B[,TIER=B]  simulated clock: bytes/s per tier, both ways (default phone=1e6,laptop=1e7,desktop=1e7)
  --deadline-sec S     simulated clock: the round deadline for every strategy; later clients are dropped
                       (default 60, the coordinator's; wall-clock.ts)
  Stage 2 ('fedtsa'): --generator DIR (checkpoint; default the task's own, checkpoints/<task>-ddpm,
                       checkpoints/fmnist-ddpm for Fashion-MNIST)
  (a generator whose image shape or classes differ from the task's is skipped, with the reason printed)
  --pool-size N  --refresh F  --ml-steps N  --temperature T  --lambda L  --ml-lr X  --ml-optimizer sgd|adam
  --pool-cache DIR|off  where generated samples are kept across runs (default .cache/synthetic)
  --min-cosine=X       the round's direction screen (core round/policy.ts; default -0.15; --min-cosine=-1 = off)
  --min-consensus=X    ... which runs only on a cluster whose median cosine is at least X (default 0; -1 = always)
  --change-floor=X     the change limit is at least X x the model's norm (default 1; 0 = no floor)
  --teacher-rule on|off  Stage 2's teacher screen (stage2/teachers.ts; default on)
  --ml-widest-learns on|off  off: the widest cluster only teaches in mutual learning (about 0.4 of
                         its cost with 2 clusters; default on)
  --heterofl VARIANT     heterofl's local training: plain (default), mask (masked cross-entropy), scaler
                       (HeteroFL's 1/r scaler), published (both); core strategy/heterofl.ts
  --feddf-data synthetic|public  what feddf distils on: Stage 2's synthetic pool (default) or the
                       held-out public images, unlabelled (core stage2/ensemble-distillation.ts)
  --overlap on|off       round r's mutual learning runs while round r+1 trains and its change is
                         added at round r+1's close (core round/close.ts; default off)
  --teacher-max-logit X  --teacher-min-skill S  --teacher-max-loss-ratio R  its thresholds (defaults in teachers.ts)

example, a task from a generated IDX folder (32x32 greyscale, 6 classes; measured: 65-70% for the
federated strategies, 94% centralised, chance 17%; results/task-examples/shapes-idx.md):
  npm run make-dataset -- --kind idx --out data/shapes-idx
  npm run simulate -- --dataset data/shapes-idx --preset small --compare
(preset small = default with --clients 12 --epochs 3 --lr 0.02 --rounds 20; the default's Fashion-MNIST
settings stayed near chance on these shapes for 10 rounds)`;

export interface CliOptions {
  config: SimulationConfig;
  compare: boolean;
  out?: string;
  evalSplit: 'test' | 'validation';
  seeds?: number[];
  source: TaskSource;
  /** True when --client-samples was given: then a dataset too small for it is an error, not a note. */
  clientSamplesExplicit: boolean;
  /** True when --generator was given; else the task's own (checkpoints/<task>-ddpm) is used. */
  generatorExplicit: boolean;
}

export function parseCli(argv: string[]): CliOptions {
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
      'min-cosine': { type: 'string' }, 'min-consensus': { type: 'string' }, 'change-floor': { type: 'string' },
      dataset: { type: 'string' }, 'image-size': { type: 'string' }, 'public-fraction': { type: 'string' }, 'validation-fraction': { type: 'string' },
      'test-fraction': { type: 'string' }, 'client-samples': { type: 'string' },
      'teacher-rule': { type: 'string' }, 'teacher-max-logit': { type: 'string' }, 'teacher-min-skill': { type: 'string' }, 'teacher-max-loss-ratio': { type: 'string' },
      overlap: { type: 'string' }, 'ml-widest-learns': { type: 'string' }, heterofl: { type: 'string' }, 'feddf-data': { type: 'string' },
      bandwidth: { type: 'string' }, 'deadline-sec': { type: 'string' },
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
  const fraction = (flag: string, v: string | undefined): number | undefined => {
    const f = num(flag, v);
    if (f !== undefined && !(f >= 0 && f < 1)) throw new Error(`--${flag} must be a fraction in [0, 1), got '${v}'`);
    return f;
  };
  const config: SimulationConfig = { ...preset, tiers: [...preset.tiers], strategies: [...preset.strategies] };
  config.rounds = num('rounds', values.rounds) ?? config.rounds;
  config.numClients = num('clients', values.clients) ?? config.numClients;
  config.seed = num('seed', values.seed) ?? config.seed;
  config.clientSamples = num('client-samples', values['client-samples']) ?? config.clientSamples;
  config.publicPoolFraction = fraction('public-fraction', values['public-fraction']) ?? config.publicPoolFraction;
  config.validationFraction = fraction('validation-fraction', values['validation-fraction']) ?? config.validationFraction;
  config.testFraction = fraction('test-fraction', values['test-fraction']) ?? config.testFraction;
  for (const [flag, key] of [['min-cosine', 'minCosine'], ['min-consensus', 'minConsensus'], ['change-floor', 'changeFloorOfNorm']] as const) {
    const v = num(flag, values[flag]);
    if (v !== undefined) config.policy = { ...DEFAULT_ROUND_POLICY, ...config.policy, [key]: v };
  }
  config.localEpochs = num('epochs', values.epochs) ?? config.localEpochs;
  config.learningRate = num('lr', values.lr) ?? config.learningRate;
  config.workers = num('workers', values.workers) ?? config.workers;
  config.batchSize = num('batch', values.batch) ?? config.batchSize;
  const deadlineSec = num('deadline-sec', values['deadline-sec']);
  if (deadlineSec !== undefined && !(deadlineSec > 0)) throw new Error(`--deadline-sec must be positive, got '${values['deadline-sec']}'`);
  if (values.bandwidth !== undefined || deadlineSec !== undefined) {
    const clock = config.wallClock ?? DEFAULT_WALL_CLOCK;
    config.wallClock = {
      ...clock,
      bandwidthBytesPerSec: values.bandwidth !== undefined ? parseBandwidth(values.bandwidth, clock.bandwidthBytesPerSec) : clock.bandwidthBytesPerSec,
      roundDeadlineSec: deadlineSec ?? clock.roundDeadlineSec,
    };
  }
  if (values.optimizer !== undefined) {
    if (values.optimizer !== 'sgd' && values.optimizer !== 'adam') throw new Error(`--optimizer must be sgd or adam, got '${values.optimizer}'`);
    config.optimizer = values.optimizer;
  }
  config.stage2 = { ...config.stage2, mutualLearning: { ...config.stage2.mutualLearning } };
  if (values.generator !== undefined) config.stage2.generatorDir = values.generator;
  config.stage2.poolSize = num('pool-size', values['pool-size']) ?? config.stage2.poolSize;
  config.stage2.refreshFraction = num('refresh', values.refresh) ?? config.stage2.refreshFraction;
  if (values.overlap !== undefined && values.overlap !== 'on' && values.overlap !== 'off') throw new Error(`--overlap must be on or off, got '${values.overlap}'`);
  if (values.overlap !== undefined) config.stage2.overlap = values.overlap === 'on';
  const feddfData = values['feddf-data'];
  if (feddfData !== undefined) {
    if (feddfData !== 'synthetic' && feddfData !== 'public') throw new Error(`--feddf-data must be synthetic or public, got '${feddfData}'`);
    config.feddfData = feddfData;
  }
  if (values.heterofl !== undefined) {
    if (!Object.hasOwn(HETEROFL_VARIANTS, values.heterofl)) throw new Error(`--heterofl must be one of ${Object.keys(HETEROFL_VARIANTS).join(', ')}, got '${values.heterofl}'`);
    config.heterofl = HETEROFL_VARIANTS[values.heterofl as HeteroflVariant];
  }
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
  const widest = values['ml-widest-learns'];
  if (widest !== undefined && widest !== 'on' && widest !== 'off') throw new Error(`--ml-widest-learns must be on or off, got '${widest}'`);
  if (widest !== undefined) ml.widestLearns = widest === 'on';
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
    const names = values.strategy.split(',').map((n) => n.trim());
    for (const name of names) {
      if (name !== 'centralised' && !STRATEGY_NAMES.includes(name as StrategyName)) throw new Error(`unknown --strategy '${name}'; choose from ${STRATEGY_NAMES.join(', ')}, centralised`);
    }
    if (new Set(names).size !== names.length) throw new Error(`--strategy names a strategy twice: '${values.strategy}'`);
    config.strategies = names.filter((n) => n !== 'centralised') as StrategyName[];
    config.centralised = names.includes('centralised');
  }
  if (!values.compare && values.strategy === undefined) config.centralised = false;
  try {
    validateConfig(config);
  } catch (e) {
    const message = (e as Error).message;
    const flags = ([['numClients', '--clients'], ['clientSamples', '--client-samples'], ['publicPoolFraction', '--public-fraction'], ['validationFraction', '--validation-fraction'], ['testFraction', '--test-fraction']] as const)
      .filter(([field]) => message.includes(field)).map(([, flag]) => flag);
    throw new Error(flags.length > 0 ? `${message} (${flags.join(', ')})` : message);
  }
  const imageSize = values['image-size'] === undefined ? undefined : parseImageSize(values['image-size']);
  if (imageSize && values.dataset === undefined) throw new Error('--image-size needs --dataset DIR (the built-in Fashion-MNIST is 28x28x1)');
  const source: TaskSource = values.dataset === undefined
    ? { kind: 'fashion-mnist', dir: process.env.FEDTSA_DATASET_DIR }
    : detectTaskSource(values.dataset, imageSize ? { imageSize } : {});
  if (values.eval !== 'test' && values.eval !== 'validation') throw new Error(`--eval must be test or validation, got '${values.eval}'`);
  const seeds = values.seeds?.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new Error(`--seeds takes integers separated by commas, got '${values.seeds}'`);
    return n;
  });
  return { config, compare: Boolean(values.compare), out: values.out, evalSplit: values.eval, seeds, source, clientSamplesExplicit: values['client-samples'] !== undefined, generatorExplicit: values.generator !== undefined };
}
