import { describe, expect, it } from 'vitest';
import { convertChannels, resizeImage } from '@fedtsa/core/data/resize';
import { folderOf, labelsFromFolders, toTaskPixels } from './own-data.ts';

/** [height, width, 4] RGBA where pixel (y, x) is fn(y, x). */
function rgbaImage(height: number, width: number, fn: (y: number, x: number) => [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(height * width * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.set(fn(y, x), (y * width + x) * 4);
  return out;
}

describe('toTaskPixels', () => {
  it('keeps colour for a 3-channel task: a solid 40x50 colour becomes a 32x32 image of that colour', () => {
    const px = toTaskPixels(rgbaImage(40, 50, () => [200, 100, 20, 255]), 40, 50, [32, 32, 3]);
    expect(px).toHaveLength(32 * 32 * 3);
    for (let p = 0; p < 32 * 32; p++) expect([px[p * 3], px[p * 3 + 1], px[p * 3 + 2]]).toEqual([200, 100, 20]);
  });

  it('makes greyscale for a 1-channel task with the weights the server uses (0.299 R + 0.587 G + 0.114 B)', () => {
    const px = toTaskPixels(rgbaImage(40, 50, () => [200, 100, 20, 255]), 40, 50, [32, 32, 1]);
    expect(px).toHaveLength(32 * 32);
    expect(new Set(px)).toEqual(new Set([Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 20)]));
  });

  it('drops alpha as the server does: a transparent white pixel stays white', () => {
    expect([...toTaskPixels(rgbaImage(16, 16, () => [255, 255, 255, 0]), 16, 16, [16, 16, 1])]).toEqual(new Array(256).fill(255));
  });

  it('resizes as the server does (core resize), not stretched by another filter: left half black, right half white', () => {
    const rgba = rgbaImage(40, 50, (_, x) => (x < 25 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const px = toTaskPixels(rgba, 40, 50, [32, 32, 1]);
    const server = convertChannels(resizeImage(convertChannels(rgba, 4, 3), 40, 50, 3, 32, 32), 3, 1);
    expect([...px]).toEqual(Array.from(server, (v) => Math.round(v)));
    expect(px[0]).toBe(0);
    expect(px[31]).toBe(255);
    // output column 15 averages source columns 23.4 to 25 (black), column 16 columns 25 to 26.6 (white)
    expect(px[15]).toBe(0);
    expect(px[16]).toBe(255);
  });

  it('refuses bytes that are not the stated RGBA size', () => {
    expect(() => toTaskPixels(new Uint8Array(10), 2, 2, [16, 16, 1])).toThrow(/10 values is not 2x2 RGBA/);
  });
});

describe('labels from folders', () => {
  const classes = ['circle', 'Ankle boot', 'square'];

  it('takes the folder a file sits in', () => {
    expect(folderOf('mine/circle/a.png')).toBe('circle');
    expect(folderOf('circle/a.png')).toBe('circle');
    expect(folderOf('a.png')).toBeUndefined();
  });

  it("matches the task's class names ignoring letter case and surrounding spaces, or label numbers", () => {
    expect([...labelsFromFolders(['m/square/1.png', 'm/ANKLE BOOT/2.png', 'm/ circle /3.jpg', 'm/1/4.png', 'm/0/5.png'], classes)]).toEqual([2, 1, 0, 1, 0]);
  });

  it('refuses folders that match no class, naming them and the classes', () => {
    expect(() => labelsFromFolders(['m/circle/1.png', 'm/dog/2.png', 'm/3/3.png'], classes))
      .toThrow("folders 'dog', '3' match none of this task's classes (circle, Ankle boot, square); name each folder after a class or its number, 0 to 2");
  });

  it('refuses images picked outside a class folder', () => {
    expect(() => labelsFromFolders(['a.png', 'm/circle/b.png'], classes)).toThrow(/1 image is not in a class folder \(a\.png\); choose a folder that holds one subfolder per class/);
  });
});
