/**
 * Everything that must be identical across the strategies of one comparison: the data
 * split, the clients' shards and capabilities, the clusters and widths, the initial weights.
 */
import type { ModelSpec } from '@fedtsa/core/architecture';
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { partitionDirichlet, partitionIid } from '@fedtsa/core/data/partition';
import { holdoutSplit, STANDARD_HOLDOUT, testHoldout } from '@fedtsa/core/data/holdout';
import { initialWeights } from '@fedtsa/core/model';
import { createRng, deriveSeed, randomNormal, shuffleInPlace } from '@fedtsa/core/rng';
import { planClusters } from '@fedtsa/core/round/plan';
import type { ClientProfile, ClusterSetup } from '@fedtsa/core/strategy/types';
import { taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import type { SimulationConfig } from './config.ts';
import { describeSplit, splitSizes } from './data-split.ts';

export interface Experiment {
  /** Absent only in experiments built by hand (the coordinator's round-parity test). */
  task?: TaskDefinition;
  spec: ModelSpec;
  /** The training rows the clients draw from (public pool and validation removed). */
  clientData: LabelledImages;
  /** Per client, rows of clientData. */
  shards: Int32Array[];
  profiles: ClientProfile[];
  tierOf: string[];
  setup: ClusterSetup;
  initialWeights: Float32Array;
  publicPool: LabelledImages;
  validation: LabelledImages;
  test: LabelledImages;
  /** Where the test images come from, for the report: the task's test split or a held-out share of its training set. */
  evaluation?: string;
}

export const clientId = (i: number): string => `client-${String(i).padStart(3, '0')}`;

/** Tiers dealt out by share and shuffled, capabilities log-normal around each tier's median (client i gets entry i). Needs no data. */
export function drawCapabilities(config: SimulationConfig): { tierOf: string[]; samplesPerSec: number[] } {
  const capRng = createRng(deriveSeed(config.seed, 4));
  const totalShare = config.tiers.reduce((s, t) => s + t.share, 0);
  const tierOf: string[] = [];
  config.tiers.forEach((tier, i) => {
    const n = i === config.tiers.length - 1 ? config.numClients - tierOf.length : Math.round((tier.share / totalShare) * config.numClients);
    for (let k = 0; k < n; k++) tierOf.push(tier.name);
  });
  shuffleInPlace(capRng, tierOf);
  const samplesPerSec = tierOf.map((name) => {
    const tier = config.tiers.find((t) => t.name === name) ?? (config.tiers[0] as SimulationConfig['tiers'][number]);
    return tier.medianSamplesPerSec * Math.exp(tier.logSpread * randomNormal(capRng));
  });
  return { tierOf, samplesPerSec };
}

/** `test`: the task's test split; without one, config.testFraction of `train` is held out as the test set. */
export function buildExperiment(config: SimulationConfig, task: TaskDefinition, train: LabelledImages, test?: LabelledImages): Experiment {
  const spec = taskSpec(task);
  const [h, w, c] = task.inputShape;
  for (const [name, d] of [['train', train], ['test', test]] as const) {
    if (d && (d.height !== h || d.width !== w || d.channels !== c || d.numClasses !== task.classNames.length)) {
      throw new Error(`buildExperiment: the ${name} images are ${d.height}x${d.width}x${d.channels} with ${d.numClasses} classes, task '${task.name}' needs ${h}x${w}x${c} with ${task.classNames.length}`);
    }
  }
  const sizes = splitSizes(config, train.count, test?.count);
  if (config.clientSamples > sizes.clientPool) {
    throw new Error(`buildExperiment: ${config.clientSamples} client samples (--client-samples) but ${describeSplit(sizes, config)} leaves ${sizes.clientPool}`);
  }
  let evaluation = `the task's test split (${test?.count} images)`;
  if (!test) {
    const held = testHoldout(train.count, config.testFraction, STANDARD_HOLDOUT.seed);
    test = subset(train, held.test);
    train = subset(train, held.rest);
    evaluation = `${test.count} images held out of the training set (--test-fraction ${+config.testFraction.toFixed(4)}), the task has no test split`;
  }
  // The hold-out seed never follows the experiment seed: the generator was trained on the
  // public pool of STANDARD_HOLDOUT, and no seed may hand those images to a client.
  const holdout = holdoutSplit(train.count, { ...STANDARD_HOLDOUT, publicPoolFraction: config.publicPoolFraction, validationFraction: config.validationFraction });
  const pool = shuffleInPlace(createRng(deriveSeed(config.seed, 2)), [...holdout.clientPool]).slice(0, config.clientSamples);
  const clientData = subset(train, pool);
  const partRng = createRng(deriveSeed(config.seed, 3));
  const parts = config.alpha === 'iid'
    ? partitionIid(clientData.labels, config.numClients, partRng)
    : partitionDirichlet(clientData.labels, config.numClients, config.alpha, partRng, { minPerClient: Math.min(10, Math.floor(config.clientSamples / config.numClients)) });

  const { tierOf, samplesPerSec } = drawCapabilities(config);
  const profiles: ClientProfile[] = parts.map((rows, i) => ({
    id: clientId(i), samplesPerSec: samplesPerSec[i]!, numSamples: rows.length,
  }));
  const setup = planClusters(profiles, { roundBudgetSec: config.roundBudgetSec, localEpochs: config.localEpochs });
  return {
    task,
    spec,
    clientData,
    shards: parts.map((rows) => Int32Array.from(rows)),
    profiles,
    tierOf,
    setup,
    initialWeights: initialWeights(spec, deriveSeed(config.seed, 5)),
    publicPool: subset(train, holdout.publicPool),
    validation: subset(train, holdout.validation),
    test,
    evaluation,
  };
}
