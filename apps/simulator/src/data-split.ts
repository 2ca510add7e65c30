/**
 * The sizes of a simulation's data split, worked out before anything is split so that a
 * dataset too small for the settings is refused with its numbers and the flag to change,
 * instead of failing deep in a partitioner. The rounding mirrors core data/partition.ts's
 * splitHoldout (Math.round of fraction x count).
 */
import type { SimulationConfig } from './config.ts';

export interface SplitSizes {
  /** Training images before anything is held out. */
  train: number;
  test: number;
  /** True when the task has no test split and `test` rows were held out of its training set. */
  testFromTrain: boolean;
  publicPool: number;
  validation: number;
  /** What is left for the clients to draw clientSamples from. */
  clientPool: number;
}

type SplitSettings = Pick<SimulationConfig, 'publicPoolFraction' | 'validationFraction' | 'testFraction' | 'numClients'>;

export function splitSizes(config: SplitSettings, trainCount: number, testCount?: number): SplitSizes {
  const testFromTrain = testCount === undefined;
  const test = testFromTrain ? Math.round(config.testFraction * trainCount) : testCount;
  if (testFromTrain && (test < 1 || test >= trainCount)) {
    throw new Error(
      `the dataset has no test split, and --test-fraction ${config.testFraction} of its ${trainCount} training images holds out ${test} ` +
        `for testing; choose a --test-fraction that leaves at least one image on each side, or add a test/ split to the dataset`,
    );
  }
  const rest = testFromTrain ? trainCount - test : trainCount;
  const publicPool = Math.round(config.publicPoolFraction * rest);
  const validation = Math.round(config.validationFraction * rest);
  const clientPool = rest - publicPool - validation;
  const sizes = { train: trainCount, test, testFromTrain, publicPool, validation, clientPool };
  if (clientPool < config.numClients) {
    throw new Error(
      `${describeSplit(sizes, config)} leaves ${clientPool} images for the clients, fewer than the ${config.numClients} clients (--clients); ` +
        'lower --clients, --public-fraction or --validation-fraction, or add images',
    );
  }
  return sizes;
}

/** "3600 training images: 540 public (--public-fraction 0.1667), ..." for messages and reports. */
export function describeSplit(s: SplitSizes, config: SplitSettings): string {
  const held = s.testFromTrain ? `, ${s.test} held out for testing (--test-fraction ${round4(config.testFraction)})` : '';
  return `${s.train} training images${held}: ${s.publicPool} public pool (--public-fraction ${round4(config.publicPoolFraction)}), ` +
    `${s.validation} validation (--validation-fraction ${round4(config.validationFraction)})`;
}

/**
 * The clients' sample count: the requested one when the pool holds it; otherwise, when the
 * number came from a preset, everything available with a note; when it was asked for with
 * --client-samples, an error.
 */
export function fitClientSamples(requested: number, explicit: boolean, sizes: SplitSizes, config: SplitSettings): { clientSamples: number; note?: string } {
  if (requested <= sizes.clientPool) return { clientSamples: requested };
  if (explicit) {
    throw new Error(`--client-samples ${requested} is more than the ${sizes.clientPool} images left for clients (${describeSplit(sizes, config)}); ask for at most ${sizes.clientPool}`);
  }
  return {
    clientSamples: sizes.clientPool,
    note: `the preset's ${requested} client samples are more than this dataset has: using all ${sizes.clientPool} left for clients (${describeSplit(sizes, config)}); set --client-samples to choose`,
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
