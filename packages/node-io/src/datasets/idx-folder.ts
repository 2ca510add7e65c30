/**
 * A task from any folder of IDX files (MNIST's layout), gzipped or not: train images and
 * labels, optionally test images and labels, optionally classes.txt with one class name per
 * line. 3-D image files are greyscale, 4-D [n, h, w, 3] colour.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { idxArraysToLabelledImages, parseIdx, type IdxArray } from '@fedtsa/core/data/idx';
import { resizeDataset } from '@fedtsa/core/data/resize';
import { defineTask } from '@fedtsa/core/task';
import { checkSourceSide, fitSide, isValidSide, taskNameFrom } from './task-name.ts';
import type { TaskData } from './task-data.ts';

export interface IdxFolderOptions {
  /** [height, width, channels?]: the task's input shape; default the files' own (resized into the nearest valid size). */
  imageSize?: [number, number, (1 | 3)?];
  /** Task name; default the folder's name, cleaned. */
  name?: string;
}

const SPLITS = { train: ['train'], test: ['t10k', 'test'] } as const;

/** The file names a split's images and labels go by: train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte, ... */
export function findIdxFiles(files: readonly string[], split: 'train' | 'test'): { images?: string; labels?: string } {
  const find = (kind: string) => files.find((f) => SPLITS[split].some((p) => f.startsWith(`${p}-${kind}`)) && /ubyte(\.gz)?$/.test(f));
  return { images: find('images'), labels: find('labels') };
}

export function isIdxFolder(dir: string): boolean {
  return findIdxFiles(readdirSync(dir), 'train').images !== undefined;
}

function readIdx(path: string): IdxArray {
  try {
    return parseIdx(new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message.replace(/^parseIdx: /, '')}; is it an IDX ubyte file?`);
  }
}

interface RawSplit { images: IdxArray; labels: IdxArray; imagesFile: string; labelsFile: string }

function readSplit(dir: string, files: string[], split: 'train' | 'test'): RawSplit | undefined {
  const { images, labels } = findIdxFiles(files, split);
  if (!images && !labels) return undefined;
  const example = split === 'train' ? 'train' : 't10k';
  if (!images || !labels) {
    throw new Error(`${dir}: ${split} ${images ? 'labels' : 'images'} file missing beside ${images ?? labels} (name it ${example}-${images ? 'labels-idx1' : 'images-idx3'}-ubyte[.gz])`);
  }
  const raw = { images: readIdx(join(dir, images)), labels: readIdx(join(dir, labels)), imagesFile: images, labelsFile: labels };
  const n = raw.images.dims[0];
  if (raw.labels.dims.length === 1 && raw.labels.dims[0] !== n) {
    throw new Error(`${dir}: ${images} holds ${n} images but ${labels} holds ${raw.labels.dims[0]} labels; the two files must describe the same images`);
  }
  const [, h, w] = raw.images.dims as [number, number, number];
  if (raw.images.dims.length >= 3) checkSourceSide(`${join(dir, images)}: each image`, h, w);
  return raw;
}

function readClassNames(dir: string): string[] | undefined {
  const path = join(dir, 'classes.txt');
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

export function loadIdxFolder(dir: string, options: IdxFolderOptions = {}): TaskData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
  const files = readdirSync(dir).sort();
  const train = readSplit(dir, files, 'train');
  if (!train) throw new Error(`${dir}: no training images (expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])`);
  const test = readSplit(dir, files, 'test');
  const size = (s: RawSplit) => `${s.images.dims.slice(1).join('x')}`;
  if (test && size(test) !== size(train)) {
    throw new Error(`${dir}: ${train.imagesFile} images are ${size(train)} but ${test.imagesFile} images are ${size(test)}; a task has one image size, so both splits must match`);
  }
  let maxLabel = 0;
  for (const s of [train, test]) for (const l of s?.labels.data ?? []) maxLabel = Math.max(maxLabel, l);
  const names = readClassNames(dir);
  if (names) {
    for (const s of [train, test]) {
      const at = s?.labels.data.findIndex((l) => l >= names.length) ?? -1;
      if (s && at >= 0) {
        throw new Error(`${dir}: label ${s.labels.data[at]} of image ${at} in ${s.labelsFile} is out of range for the ${names.length} class names in classes.txt (labels 0 to ${names.length - 1}); add the missing names to classes.txt or fix the labels`);
      }
    }
  }
  const classNames = names ?? Array.from({ length: Math.max(2, maxLabel + 1) }, (_, i) => String(i));
  const toData = (s: RawSplit): LabelledImages => {
    try {
      return idxArraysToLabelledImages(s.images, s.labels, classNames.length);
    } catch (e) {
      throw new Error(`${dir}: ${s.imagesFile}, ${s.labelsFile}: ${(e as Error).message.replace(/^idxToLabelledImages: /, '')}`);
    }
  };
  const trainData = toData(train);
  const testData = test && toData(test);
  const [h, w] = [options.imageSize?.[0] ?? fitSide(trainData.height), options.imageSize?.[1] ?? fitSide(trainData.width)];
  const c = options.imageSize?.[2] ?? (trainData.channels as 1 | 3);
  const task = defineTask({ name: options.name ?? taskNameFrom(basename(resolve(dir))), inputShape: [h, w, c], classNames });
  const notes = !options.imageSize && !(isValidSide(trainData.height) && isValidSide(trainData.width))
    ? [`${dir}: images are ${trainData.height}x${trainData.width}, resized to ${h}x${w} (sides must be multiples of 4 from 16 to 64; choose with --image-size)`]
    : [];
  return {
    task,
    notes,
    train: resizeDataset(trainData, h, w, c),
    ...(testData ? { test: resizeDataset(testData, h, w, c) } : {}),
  };
}
