/**
 * The data a task's generator and its fidelity classifier see, split exactly as the
 * simulation splits it (experiment.ts): for a dataset without a test split the same share of
 * the training set is held out first, then holdoutSplit with STANDARD_HOLDOUT gives the public
 * pool (the generator's only images), validation, and the clients' pool. So the generator
 * never sees a client's image, and the classifier never sees the public pool it judges.
 */
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { holdoutSplit, STANDARD_HOLDOUT, testHoldout } from '@fedtsa/core/data/holdout';
import type { TaskDefinition } from '@fedtsa/core/task';
import { parseImageSize } from '@fedtsa/node-io/datasets/task-name';
import { detectTaskSource, loadTaskData, type TaskSource } from '@fedtsa/node-io/datasets/task-data';
import { PRESETS } from '../config.ts';

export interface GeneratorData {
  task: TaskDefinition;
  /** The generator's training images. */
  publicPool: LabelledImages;
  /** The fidelity classifier's training images. */
  classifierTrain: LabelledImages;
  /** Real images neither saw: the classifier's accuracy on them is reported beside the fidelity. */
  validation: LabelledImages;
  /** Provenance for the checkpoint's notes. */
  description: string;
  /** What the loader changed (e.g. a resize), for the caller to print. */
  notes: string[];
}

/** The task source from --dataset and --image-size; the built-in Fashion-MNIST without --dataset. */
export function generatorSource(dataset: string | undefined, imageSize: string | undefined): TaskSource {
  if (dataset === undefined) {
    if (imageSize !== undefined) throw new Error('--image-size needs --dataset DIR (the built-in Fashion-MNIST is 28x28x1)');
    return { kind: 'fashion-mnist', dir: process.env.FEDTSA_DATASET_DIR };
  }
  return detectTaskSource(dataset, imageSize === undefined ? {} : { imageSize: parseImageSize(imageSize) });
}

export function loadGeneratorData(source: TaskSource): GeneratorData {
  const data = loadTaskData(source);
  let train = data.train;
  let heldOut = '';
  if (!data.test) {
    const testFraction = PRESETS.default?.testFraction ?? 1 / 6;
    const held = testHoldout(train.count, testFraction, STANDARD_HOLDOUT.seed);
    train = subset(train, held.rest);
    heldOut = `, after ${held.test.length} images held out as the test set (testHoldout ${+testFraction.toFixed(4)}, as the simulation does)`;
  }
  const split = holdoutSplit(train.count, STANDARD_HOLDOUT);
  const publicPool = subset(train, split.publicPool);
  const validation = subset(train, split.validation);
  if (source.kind === 'fashion-mnist') {
    // As the committed checkpoint and its classifier were made: the classifier saw every non-validation row.
    return {
      task: data.task, publicPool, validation, notes: data.notes,
      classifierTrain: subset(train, [...split.publicPool, ...split.clientPool]),
      description: `Fashion-MNIST public pool: ${publicPool.count} training images disjoint from all clients (holdoutSplit, seed ${STANDARD_HOLDOUT.seed})`,
    };
  }
  return {
    task: data.task, publicPool, validation, notes: data.notes,
    classifierTrain: subset(train, split.clientPool),
    description: `${data.task.name} (${source.dir}, ${data.task.inputShape.join('x')}, ${data.task.classNames.length} classes) ` +
      `public pool: ${publicPool.count} training images disjoint from all clients and from validation (holdoutSplit, seed ${STANDARD_HOLDOUT.seed})${heldOut}`,
  };
}
