import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx } from '@fedtsa/core/data/idx';
import { shapesDataset } from './example-shapes.ts';
import { loadIdxFolder } from './idx-folder.ts';
import { writeIdxExample } from './make-example.ts';

const root = mkdtempSync(join(tmpdir(), 'fedtsa-idx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A folder of raw IDX files: images [count, h, w(, c)] with the given bytes and labels. */
function idxFolder(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}
const images = (count: number, h: number, w: number, fill = 128, c?: number) =>
  encodeIdx(c ? [count, h, w, c] : [count, h, w], new Uint8Array(count * h * w * (c ?? 1)).fill(fill));
const labels = (values: number[]) => encodeIdx([values.length], Uint8Array.from(values));

describe('loadIdxFolder', () => {
  it('reads the generated example (gzipped train, raw test, classes.txt) byte for byte', () => {
    const dir = join(root, 'shapes-idx');
    writeIdxExample(dir, { trainCount: 60, testCount: 12, seed: 4 });
    const data = loadIdxFolder(dir);
    expect(data.task.name).toBe('shapes-idx');
    expect(data.task.inputShape).toEqual([32, 32, 1]);
    expect(data.task.classNames).toEqual(['circle', 'ring', 'square', 'triangle', 'cross', 'bar']);
    expect([data.train.count, data.test?.count]).toEqual([60, 12]);
    const expected = shapesDataset(60, 32, 32, 1, 6, 4);
    expect(Array.from(data.train.labels)).toEqual(Array.from(expected.labels));
    expect(data.train.images[1000]).toBeCloseTo((expected.images[1000] as number) / 255, 6);
    expect(data.notes).toEqual([]);
    expect(readFileSync(join(dir, 'train-images-idx3-ubyte.gz'))[0]).toBe(0x1f);
  });

  it('names classes 0..K-1 without classes.txt, at least two', () => {
    const dir = idxFolder({ 'train-images-idx3-ubyte': images(3, 16, 16), 'train-labels-idx1-ubyte': labels([0, 4, 2]) });
    expect(loadIdxFolder(dir).task.classNames).toEqual(['0', '1', '2', '3', '4']);
    const one = idxFolder({ 'train-images-idx3-ubyte': images(2, 16, 16), 'train-labels-idx1-ubyte': labels([0, 0]) });
    expect(loadIdxFolder(one).task.classNames).toEqual(['0', '1']);
  });

  it('resizes a size outside the task limits into the nearest valid one, and says so', () => {
    const dir = idxFolder({ 'train-images-idx3-ubyte': images(2, 10, 30, 255), 'train-labels-idx1-ubyte': labels([0, 1]) });
    const data = loadIdxFolder(dir);
    expect(data.task.inputShape).toEqual([16, 32, 1]);
    expect(data.train.images.length).toBe(2 * 16 * 32);
    expect(data.train.images.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    expect(data.notes[0]).toMatch(/images are 10x30, resized to 16x32 .*--image-size/);
  });

  it('reads colour [n, h, w, 3] files and converts to the channels asked for', () => {
    const dir = idxFolder({ 'train-images-idx3-ubyte': images(2, 16, 16, 51, 3), 'train-labels-idx1-ubyte': labels([0, 1]), 't10k-images-idx3-ubyte': images(1, 16, 16, 51, 3), 't10k-labels-idx1-ubyte': labels([1]) });
    expect(loadIdxFolder(dir).task.inputShape).toEqual([16, 16, 3]);
    const grey = loadIdxFolder(dir, { imageSize: [20, 24, 1] });
    expect(grey.task.inputShape).toEqual([20, 24, 1]);
    expect(grey.test?.images.length).toBe(20 * 24);
    expect(grey.test?.images[0]).toBeCloseTo(0.2, 5);
  });

  describe('refuses a bad dataset with the numbers and the fix', () => {
    it('wrong magic', () => {
      const bad = images(2, 16, 16);
      bad[0] = 0x12;
      const dir = idxFolder({ 'train-images-idx3-ubyte': bad, 'train-labels-idx1-ubyte': labels([0, 1]) });
      expect(() => loadIdxFolder(dir)).toThrow(/train-images-idx3-ubyte: bad magic, expected 0x00 0x00 <type> <ndims>, got 0x12 0x00; is it an IDX ubyte file\?/);
    });

    it('image and label counts differ', () => {
      const dir = idxFolder({ 'train-images-idx3-ubyte.gz': gzipSync(images(10, 16, 16)), 'train-labels-idx1-ubyte.gz': gzipSync(labels([0, 1, 0, 1, 0, 1, 0, 1, 0])) });
      expect(() => loadIdxFolder(dir)).toThrow(/train-images-idx3-ubyte.gz holds 10 images but train-labels-idx1-ubyte.gz holds 9 labels/);
    });

    it('a label out of range of classes.txt', () => {
      const dir = idxFolder({ 'train-images-idx3-ubyte': images(3, 16, 16), 'train-labels-idx1-ubyte': labels([0, 1, 2]), 'classes.txt': 'cat\ndog\n' });
      expect(() => loadIdxFolder(dir)).toThrow(/label 2 of image 2 in train-labels-idx1-ubyte is out of range for the 2 class names in classes.txt \(labels 0 to 1\); add the missing names/);
    });

    it('train and test images of different sizes', () => {
      const dir = idxFolder({ 'train-images-idx3-ubyte': images(2, 32, 32), 'train-labels-idx1-ubyte': labels([0, 1]), 't10k-images-idx3-ubyte': images(1, 28, 28), 't10k-labels-idx1-ubyte': labels([0]) });
      expect(() => loadIdxFolder(dir)).toThrow(/train-images-idx3-ubyte images are 32x32 but t10k-images-idx3-ubyte images are 28x28/);
    });

    it('images smaller than 4x4 or larger than 4096', () => {
      const tiny = idxFolder({ 'train-images-idx3-ubyte': images(2, 3, 3), 'train-labels-idx1-ubyte': labels([0, 1]) });
      expect(() => loadIdxFolder(tiny)).toThrow(/each image is 3x3 pixels; images must be from 4x4 to 4096x4096/);
      const wide = idxFolder({ 'train-images-idx3-ubyte': images(1, 4, 5000), 'train-labels-idx1-ubyte': labels([0]) });
      expect(() => loadIdxFolder(wide)).toThrow(/is 4x5000 pixels/);
    });

    it('a missing labels file, or no training files at all', () => {
      const dir = idxFolder({ 'train-images-idx3-ubyte': images(2, 16, 16) });
      expect(() => loadIdxFolder(dir)).toThrow(/train labels file missing beside train-images-idx3-ubyte \(name it train-labels-idx1-ubyte\[.gz\]\)/);
      expect(() => loadIdxFolder(idxFolder({ 'notes.txt': 'x' }))).toThrow(/no training images \(expected train-images-idx3-ubyte\[.gz\]/);
    });

    it('more than 100 classes', () => {
      const dir = idxFolder({ 'train-images-idx3-ubyte': images(2, 16, 16), 'train-labels-idx1-ubyte': labels([0, 150]) });
      expect(() => loadIdxFolder(dir)).toThrow(/classNames must list 2 to 100 classes, got 151/);
    });
  });
});
