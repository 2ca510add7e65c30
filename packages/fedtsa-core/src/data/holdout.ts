/**
 * The split of the training set into the clients' pool, the server's public pool (the
 * generator's only data) and validation. The simulation, the generator's training command and
 * the coordinator all call this with the same seed, so the generator's data is disjoint from
 * every client's.
 */
import { createRng, deriveSeed } from '../rng.ts';
import { splitHoldout, type HoldoutSplit } from './partition.ts';

export interface HoldoutConfig {
  seed: number;
  publicPoolSamples: number;
  validationSamples: number;
}

/** The project's standard hold-out sizes for Fashion-MNIST (60,000 training images). */
export const STANDARD_HOLDOUT: HoldoutConfig = { seed: 1, publicPoolSamples: 10_000, validationSamples: 5_000 };

export function holdoutSplit(trainCount: number, config: HoldoutConfig): HoldoutSplit {
  return splitHoldout(trainCount, {
    publicPool: config.publicPoolSamples / trainCount,
    validation: config.validationSamples / trainCount,
  }, createRng(deriveSeed(config.seed, 1)));
}
