/**
 * A task with the server's data for it, from any of the sources: the built-in Fashion-MNIST
 * (Debian's package), a folder of IDX files, or a folder of images with one subfolder per
 * class.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { FASHION_MNIST_TASK, type TaskDefinition } from '@fedtsa/core/task';
import { loadFashionMnist } from '../fashion-mnist.ts';
import { loadIdxFolder } from './idx-folder.ts';
import { loadImageFolder } from './image-folder.ts';

export interface TaskData {
  task: TaskDefinition;
  /** Images already in the task's shape, floats in [0, 1]. */
  train: LabelledImages;
  /** The dataset's own test split, when it has one. */
  test?: LabelledImages;
  /** What the loader changed on the way (e.g. a resize), for the caller to print. */
  notes: string[];
}

interface LoadOptions {
  /** [height, width, channels?]; see loadIdxFolder and loadImageFolder for the defaults. */
  imageSize?: [number, number, (1 | 3)?];
  name?: string;
}

export type TaskSource =
  | { kind: 'fashion-mnist'; dir?: string }
  | ({ kind: 'idx'; dir: string } & LoadOptions)
  | ({ kind: 'images'; dir: string } & LoadOptions);

export function loadTaskData(source: TaskSource): TaskData {
  switch (source.kind) {
    case 'fashion-mnist': {
      const { train, test } = loadFashionMnist(source.dir);
      return { task: FASHION_MNIST_TASK, train, test, notes: [] };
    }
    case 'idx':
      return loadIdxFolder(source.dir, source);
    case 'images':
      return loadImageFolder(source.dir, source);
  }
}

/** Which loader a folder needs: IDX files (train-images-...-ubyte[.gz]) or class subfolders. */
export function detectTaskSource(dir: string, options: LoadOptions = {}): TaskSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`dataset folder ${dir} does not exist or is not a folder`);
  const entries = readdirSync(dir).filter((f) => !f.startsWith('.'));
  if (entries.some((f) => /^(train|t10k|test)-(images|labels).*ubyte(\.gz)?$/.test(f))) return { kind: 'idx', dir, ...options };
  if (entries.some((f) => statSync(join(dir, f)).isDirectory())) return { kind: 'images', dir, ...options };
  throw new Error(
    `${dir} holds neither IDX files (train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz]) nor class folders (one subfolder of PNG or JPEG images per class); ` +
      'make an example with npm run make-dataset',
  );
}
