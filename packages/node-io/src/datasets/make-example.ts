#!/usr/bin/env -S node --import tsx
/**
 * Writes a small, deterministic example dataset for tests and the README:
 *
 *   npm run make-dataset -- --kind idx --out data/shapes-idx       # 32x32 greyscale, 6 classes, train (gzipped) and t10k (raw)
 *   npm run make-dataset -- --kind images --out data/shapes-images # colour PNG and JPEG of mixed sizes, 5 class folders
 *   npm run make-dataset -- --kind colour --out data/colour-shapes # 32x32x3 shapes on textured backgrounds, 6 classes, colour IDX
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '@fedtsa/core/data/idx';
import { createRng } from '@fedtsa/core/rng';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { colourShapesDataset, drawShape, SHAPES, shapesDataset, type Shape } from './example-shapes.ts';

export interface IdxExampleOptions { trainCount?: number; testCount?: number; side?: number; classes?: number; seed?: number }

/** An IDX folder: train-* gzipped, t10k-* raw (both forms are read), classes.txt. */
export function writeIdxExample(dir: string, o: IdxExampleOptions = {}): void {
  const { trainCount = 3_600, testCount = 600, side = 32, classes = 6, seed = 1 } = o;
  mkdirSync(dir, { recursive: true });
  const train = shapesDataset(trainCount, side, side, 1, classes, seed);
  const test = shapesDataset(testCount, side, side, 1, classes, seed + 1_000);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([trainCount, side, side], train.images)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([trainCount], train.labels)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([testCount, side, side], test.images));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([testCount], test.labels));
  writeFileSync(join(dir, 'classes.txt'), `${SHAPES.slice(0, classes).join('\n')}\n`);
}

/**
 * A colour IDX folder ([n, side, side, 3] images): coloured shapes on gradient or striped
 * backgrounds (12,000 training and 2,400 test images by default). train-* gzipped, t10k-* raw, classes.txt.
 */
export function writeColourIdxExample(dir: string, o: IdxExampleOptions = {}): void {
  const { trainCount = 12_000, testCount = 2_400, side = 32, classes = 6, seed = 1 } = o;
  mkdirSync(dir, { recursive: true });
  const train = colourShapesDataset(trainCount, side, classes, seed);
  const test = colourShapesDataset(testCount, side, classes, seed + 1_000);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([trainCount, side, side, 3], train.images)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([trainCount], train.labels)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([testCount, side, side, 3], test.images));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([testCount], test.labels));
  writeFileSync(join(dir, 'classes.txt'), `${SHAPES.slice(0, classes).join('\n')}\n`);
}

export interface ImageExampleOptions { perClass?: number; classes?: number; minSide?: number; maxSide?: number; seed?: number; colour?: boolean }

/** One folder per class; sides drawn from [minSide, maxSide] (not square); every third image a JPEG. */
export function writeImageFolderExample(dir: string, o: ImageExampleOptions = {}): void {
  const { perClass = 900, classes = 5, minSide = 20, maxSide = 72, seed = 1, colour = true } = o;
  const rng = createRng(seed);
  const side = () => minSide + Math.floor(rng.next() * (maxSide - minSide + 1));
  for (const shape of SHAPES.slice(0, classes) as Shape[]) {
    mkdirSync(join(dir, shape), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const img = drawShape(shape, side(), side(), colour ? 3 : 1, rng);
      const rgba = new Uint8Array(img.height * img.width * 4);
      for (let p = 0; p < img.height * img.width; p++) {
        for (let k = 0; k < 3; k++) rgba[p * 4 + k] = img.pixels[p * img.channels + (img.channels === 3 ? k : 0)] as number;
        rgba[p * 4 + 3] = 255;
      }
      const name = join(dir, shape, `${shape}-${String(i).padStart(4, '0')}`);
      if (i % 3 === 2) writeFileSync(`${name}.jpg`, jpeg.encode({ data: rgba, width: img.width, height: img.height }, 90).data);
      else {
        const png = new PNG({ width: img.width, height: img.height });
        png.data = Buffer.from(rgba);
        writeFileSync(`${name}.png`, PNG.sync.write(png));
      }
    }
  }
}

const USAGE = `usage: npm run make-dataset -- --kind idx|images|colour --out DIR [--count N] [--seed N]
  --kind idx      32x32 greyscale shapes, 6 classes: N training images (default 3600) and N/6 test images, as IDX files
  --kind images   colour shapes of sides 20 to 72 pixels, 5 class folders of N/5 images each (default 4500 in all), PNG and JPEG
  --kind colour   32x32x3 coloured shapes on gradient or softly striped backgrounds, 6 classes: N training images (default 12000)
                  and N/5 test images, as colour IDX files ([n, 32, 32, 3])`;

function main(): void {
  const { values } = parseArgs({ options: { kind: { type: 'string' }, out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) { console.log(USAGE); return; }
  if (!values.out || (values.kind !== 'idx' && values.kind !== 'images' && values.kind !== 'colour')) throw new Error('--kind idx|images|colour and --out DIR are required');
  const count = values.count === undefined ? undefined : Number(values.count);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (count !== undefined && !(Number.isInteger(count) && count >= 12)) throw new Error(`--count must be an integer of at least 12, got '${values.count}'`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  if (values.kind === 'idx') writeIdxExample(values.out, { ...(count ? { trainCount: count, testCount: Math.round(count / 6) } : {}), seed });
  else if (values.kind === 'colour') writeColourIdxExample(values.out, { ...(count ? { trainCount: count, testCount: Math.round(count / 5) } : {}), seed });
  else writeImageFolderExample(values.out, { ...(count ? { perClass: Math.round(count / 5) } : {}), seed });
  console.log(`wrote ${values.kind === 'images' ? 'an image folder' : `${values.kind === 'colour' ? 'a colour ' : 'an '}IDX folder`} to ${values.out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    console.error(USAGE);
    process.exit(1);
  }
}
