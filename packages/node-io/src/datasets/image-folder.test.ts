import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadImageFolder } from './image-folder.ts';
import { writeImageFolderExample } from './make-example.ts';

const root = mkdtempSync(join(tmpdir(), 'fedtsa-images-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A solid-colour PNG (RGBA, alpha 255 unless given). */
function png(width: number, height: number, rgb: [number, number, number], alpha = 255): Buffer {
  const img = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) img.data.set([...rgb, alpha], p * 4);
  return PNG.sync.write(img);
}
function jpg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], p * 4);
  return jpeg.encode({ data, width, height }, 95).data;
}
/** files: relative path -> bytes (a trailing '/' makes an empty folder). */
function folder(files: Record<string, Buffer | string>, name = `case-${n++}`): string {
  const dir = join(root, name);
  for (const [path, bytes] of Object.entries(files)) {
    if (path.endsWith('/')) mkdirSync(join(dir, path), { recursive: true });
    else {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), bytes);
    }
  }
  return dir;
}

describe('loadImageFolder', () => {
  it('reads the generated example: classes by folder name, PNG and JPEG of mixed sizes, colour kept', () => {
    const dir = join(root, 'Shapes Images!');
    writeImageFolderExample(dir, { perClass: 6, classes: 3, seed: 2 });
    const data = loadImageFolder(dir);
    expect(data.task.name).toBe('shapes-images');
    expect(data.task.classNames).toEqual(['circle', 'ring', 'square']);
    expect(data.task.inputShape).toEqual([32, 32, 3]);
    expect(data.train.count).toBe(18);
    expect(Array.from(data.train.labels)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(data.test).toBeUndefined();
    expect(data.train.images.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('is greyscale when no image has colour, and takes the size asked for', () => {
    const dir = join(root, 'grey');
    writeImageFolderExample(dir, { perClass: 3, classes: 2, colour: false });
    expect(loadImageFolder(dir).task.inputShape).toEqual([32, 32, 1]);
    expect(loadImageFolder(dir, { imageSize: [16, 24], name: 'mine' }).task).toMatchObject({ name: 'mine', inputShape: [16, 24, 1] });
  });

  it('converts and resizes exactly: a solid colour stays that colour, alpha dropped, grey from luma', () => {
    const dir = folder({ 'red/a.png': png(50, 40, [255, 0, 0], 10), 'red/b.jpg': jpg(8, 8, [255, 0, 0]), 'white/c.png': png(5, 70, [255, 255, 255]) });
    const data = loadImageFolder(dir, { imageSize: [16, 16] });
    expect(data.task.inputShape).toEqual([16, 16, 3]);
    expect(Array.from(data.train.images.subarray(0, 3))).toEqual([1, 0, 0]);
    const jpegRed = Array.from(data.train.images.subarray(16 * 16 * 3, 16 * 16 * 3 + 3));
    expect(jpegRed[0]).toBeGreaterThan(0.9);
    expect(jpegRed[1]).toBeLessThan(0.1);
    expect(data.train.images.subarray(2 * 16 * 16 * 3).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    const grey = loadImageFolder(dir, { imageSize: [16, 16, 1] });
    expect(grey.train.images[0]).toBeCloseTo(0.299, 5);
  });

  it('reads train/ and test/ splits with the same classes', () => {
    const dir = folder({ 'train/a/1.png': png(8, 8, [0, 0, 0]), 'train/b/1.png': png(8, 8, [9, 9, 9]), 'test/b/2.png': png(8, 8, [9, 9, 9]), 'README.txt': 'hi' });
    const data = loadImageFolder(dir);
    expect(data.task.classNames).toEqual(['a', 'b']);
    expect([data.train.count, data.test?.count, Array.from(data.test?.labels ?? [])]).toEqual([2, 1, [1]]);
  });

  describe('refuses a bad dataset with the file and the fix', () => {
    it('an empty class folder', () => {
      const dir = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/': '' });
      expect(() => loadImageFolder(dir)).toThrow(/class folder .*\/b has no images; add PNG or JPEG files to it or remove it/);
    });

    it('fewer than 2 classes', () => {
      expect(() => loadImageFolder(folder({ 'only/1.png': png(8, 8, [0, 0, 0]) }))).toThrow(/has 1 class folder; a task needs at least 2/);
    });

    it('a format other than PNG or JPEG, by name or by content', () => {
      const gif = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.gif': 'GIF89a' });
      expect(() => loadImageFolder(gif)).toThrow(/b\/2.gif: only PNG and JPEG images are read \(.png, .jpg, .jpeg\); convert it or remove it/);
      const fake = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.png': 'GIF89a not really a png' });
      expect(() => loadImageFolder(fake)).toThrow(/b\/2.png is neither a PNG nor a JPEG file \(by its first bytes\)/);
    });

    it('an undecodable file', () => {
      const truncated = png(8, 8, [0, 0, 0]).subarray(0, 40);
      const dir = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.png': truncated });
      expect(() => loadImageFolder(dir)).toThrow(/b\/2.png: cannot decode this PNG file \(.+\); re-save it or remove it/);
      const badJpeg = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.jpg': Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]) });
      expect(() => loadImageFolder(badJpeg)).toThrow(/b\/2.jpg: cannot decode this JPEG file/);
    });

    it('an image smaller than 4x4 or larger than 4096 on a side', () => {
      const tiny = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.png': png(3, 3, [0, 0, 0]) });
      expect(() => loadImageFolder(tiny)).toThrow(/b\/2.png is 3x3 pixels; images must be from 4x4 to 4096x4096 \(resize or remove it\)/);
      const huge = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/2.png': png(5000, 4, [0, 0, 0]) });
      expect(() => loadImageFolder(huge)).toThrow(/b\/2.png is 4x5000 pixels/);
    });

    it('a test class without training images, and a bad --image-size', () => {
      const dir = folder({ 'train/a/1.png': png(8, 8, [0, 0, 0]), 'train/b/1.png': png(8, 8, [0, 0, 0]), 'test/c/1.png': png(8, 8, [0, 0, 0]) });
      expect(() => loadImageFolder(dir)).toThrow(/class 'c' has no training folder/);
      const ok = folder({ 'a/1.png': png(8, 8, [0, 0, 0]), 'b/1.png': png(8, 8, [0, 0, 0]) });
      expect(() => loadImageFolder(ok, { imageSize: [30, 32] })).toThrow(/height must be a multiple of 4 from 16 to 64, got 30/);
    });
  });
});
