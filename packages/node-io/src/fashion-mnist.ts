/** Loads the datasets the simulation uses from disk (the only file I/O of the simulation). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { idxToLabelledImages } from '@fedtsa/core/data/idx';
import type { LabelledImages } from '@fedtsa/core/data/dataset';

/** Debian's dataset-fashion-mnist package installs the original IDX files here. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface TrainTest {
  train: LabelledImages;
  test: LabelledImages;
  classNames: string[];
}

export const FASHION_MNIST_CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function readFirst(dir: string, base: string): Uint8Array {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return new Uint8Array(readFileSync(path));
  }
  throw new Error(
    `loadFashionMnist: ${join(dir, base)}[.gz] not found. Install Debian's dataset-fashion-mnist ` +
    `(apt-get install dataset-fashion-mnist) or set FEDTSA_DATASET_DIR to a folder with the IDX files.`,
  );
}

export function loadFashionMnist(dir = process.env.FEDTSA_DATASET_DIR ?? DEFAULT_FASHION_MNIST_DIR): TrainTest {
  return {
    train: idxToLabelledImages(readFirst(dir, 'train-images-idx3-ubyte'), readFirst(dir, 'train-labels-idx1-ubyte')),
    test: idxToLabelledImages(readFirst(dir, 't10k-images-idx3-ubyte'), readFirst(dir, 't10k-labels-idx1-ubyte')),
    classNames: FASHION_MNIST_CLASSES,
  };
}
