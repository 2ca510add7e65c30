/**
 * The split of the training set into the clients' pool, the server's public pool (the
 * generator's only data) and validation, as fractions of the training set's size so that one
 * setting fits any dataset. The simulation, the generator's training command and the
 * coordinator all call this with the same seed, so the generator's data is disjoint from
 * every client's.
 */
import { createRng, deriveSeed } from '../rng.ts';
import { splitHoldout, type HoldoutSplit } from './partition.ts';

export interface HoldoutConfig {
  seed: number;
  /** Share of the training set kept for the server's generator, in [0, 1). */
  publicPoolFraction: number;
  /** Share kept for tuning, in [0, 1). */
  validationFraction: number;
}

/**
 * The project's standard hold-out: on Fashion-MNIST's 60,000 training images, 10,000 public
 * and 5,000 validation. 1/6 and 1/12 are the same doubles as 10000/60000 and 5000/60000, so
 * the rows are exactly those of the sample-count split the committed results were made with
 * (holdout.test.ts checks them).
 */
export const STANDARD_HOLDOUT: HoldoutConfig = { seed: 1, publicPoolFraction: 1 / 6, validationFraction: 1 / 12 };

export function holdoutSplit(trainCount: number, config: HoldoutConfig): HoldoutSplit {
  return splitHoldout(trainCount, { publicPool: config.publicPoolFraction, validation: config.validationFraction }, createRng(deriveSeed(config.seed, 1)));
}

export interface TestHoldout {
  /** Rows of the training set used as the test set. */
  test: number[];
  /** The remaining rows, ascending; the hold-out split above is applied to these. */
  rest: number[];
}

/**
 * For a dataset without a test split: a fixed share of the training rows becomes the test
 * set before anything else is split, under its own seed stream, so no client, generator or
 * tuning run ever sees it.
 */
export function testHoldout(trainCount: number, testFraction: number, seed = STANDARD_HOLDOUT.seed): TestHoldout {
  const split = splitHoldout(trainCount, { publicPool: testFraction, validation: 0 }, createRng(deriveSeed(seed, 6)));
  return { test: split.publicPool, rest: split.clientPool };
}
