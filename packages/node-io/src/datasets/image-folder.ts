/**
 * A task from a folder of images: one subfolder per class (sorted by name = label order), PNG
 * or JPEG files of any size, or train/ and test/ subfolders each holding class folders. Every
 * image is converted to the task's channels (alpha dropped) and resized into its shape.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { convertChannels, resizeImage } from '@fedtsa/core/data/resize';
import { defineTask } from '@fedtsa/core/task';
import { decodeImage } from './decode-image.ts';
import { taskNameFrom } from './task-name.ts';
import type { TaskData } from './task-data.ts';

export interface ImageFolderOptions {
  /** [height, width, channels?]; default 32x32, with 3 channels if any image has colour, else 1. */
  imageSize?: [number, number, (1 | 3)?];
  /** Task name; default the folder's name, cleaned. */
  name?: string;
}

export const DEFAULT_IMAGE_SIDE = 32;
const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
/** A pixel whose channels spread by more than this (of 255) is colour; JPEG noise on grey stays well below. */
const COLOUR_SPREAD = 32;

const visible = (dir: string): string[] => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
const isDir = (path: string): boolean => statSync(path).isDirectory();

/** Each class folder's image files, in name order; refuses other formats and empty classes. */
function listClasses(dir: string): Map<string, string[]> {
  const classes = new Map<string, string[]>();
  for (const name of visible(dir).filter((f) => isDir(join(dir, f)))) {
    const files = visible(join(dir, name)).filter((f) => !isDir(join(dir, name, f)));
    for (const f of files) {
      if (!EXTENSIONS.has(extname(f).toLowerCase())) {
        throw new Error(`${join(dir, name, f)}: only PNG and JPEG images are read (.png, .jpg, .jpeg); convert it or remove it`);
      }
    }
    if (files.length === 0) throw new Error(`class folder ${join(dir, name)} has no images; add PNG or JPEG files to it or remove it`);
    classes.set(name, files.map((f) => join(dir, name, f)));
  }
  return classes;
}

interface Decoded { rgb: Float32Array[]; labels: number[]; colour: boolean }

/** Every image as RGB floats already at the task's height and width. */
function decodeAll(classes: Map<string, string[]>, classNames: string[], h: number, w: number): Decoded {
  const out: Decoded = { rgb: [], labels: [], colour: false };
  for (const [name, files] of classes) {
    const label = classNames.indexOf(name);
    for (const file of files) {
      const img = decodeImage(new Uint8Array(readFileSync(file)), file);
      const rgba = img.rgba;
      for (let p = 0; p < rgba.length && !out.colour; p += 4) {
        const [r, g, b] = [rgba[p] as number, rgba[p + 1] as number, rgba[p + 2] as number];
        if (Math.max(r, g, b) - Math.min(r, g, b) > COLOUR_SPREAD) out.colour = true;
      }
      const rgb = convertChannels(Float32Array.from(rgba, (v) => v / 255), 4, 3);
      out.rgb.push(resizeImage(rgb, img.height, img.width, 3, h, w));
      out.labels.push(label);
    }
  }
  return out;
}

function toLabelledImages(d: Decoded, h: number, w: number, c: 1 | 3, numClasses: number): LabelledImages {
  const per = h * w * c;
  const images = new Float32Array(d.rgb.length * per);
  d.rgb.forEach((rgb, i) => images.set(c === 3 ? rgb : convertChannels(rgb, 3, 1), i * per));
  return { images, labels: Uint8Array.from(d.labels), count: d.labels.length, height: h, width: w, channels: c, numClasses };
}

export function loadImageFolder(dir: string, options: ImageFolderOptions = {}): TaskData {
  if (!existsSync(dir) || !isDir(dir)) throw new Error(`${dir} is not a folder`);
  const split = existsSync(join(dir, 'train')) && isDir(join(dir, 'train'));
  const trainDir = split ? join(dir, 'train') : dir;
  const testDir = split && existsSync(join(dir, 'test')) ? join(dir, 'test') : undefined;
  const trainClasses = listClasses(trainDir);
  const classNames = [...trainClasses.keys()];
  if (classNames.length < 2) {
    throw new Error(`${trainDir} has ${classNames.length} class folder${classNames.length === 1 ? '' : 's'}; a task needs at least 2 (one subfolder of images per class)`);
  }
  const testClasses = testDir ? listClasses(testDir) : undefined;
  for (const name of testClasses?.keys() ?? []) {
    if (!trainClasses.has(name)) throw new Error(`${testDir}/${name}: class '${name}' has no training folder in ${trainDir}; every test class needs training images`);
  }
  const [h, w] = [options.imageSize?.[0] ?? DEFAULT_IMAGE_SIDE, options.imageSize?.[1] ?? DEFAULT_IMAGE_SIDE];
  // Validates the name, the shape and the class names before the (slow) decoding.
  defineTask({ name: options.name ?? taskNameFrom(basename(resolve(dir))), inputShape: [h, w, options.imageSize?.[2] ?? 3], classNames });
  const train = decodeAll(trainClasses, classNames, h, w);
  const test = testClasses && decodeAll(testClasses, classNames, h, w);
  const c = options.imageSize?.[2] ?? (train.colour || test?.colour ? 3 : 1);
  const task = defineTask({ name: options.name ?? taskNameFrom(basename(resolve(dir))), inputShape: [h, w, c], classNames });
  return {
    task,
    train: toLabelledImages(train, h, w, c, classNames.length),
    ...(test ? { test: toLabelledImages(test, h, w, c, classNames.length) } : {}),
    notes: [`${dir}: ${train.labels.length} training${test ? ` and ${test.labels.length} test` : ''} images in ${classNames.length} classes, as ${h}x${w}x${c}`],
  };
}
