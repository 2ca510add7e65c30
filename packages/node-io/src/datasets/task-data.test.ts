import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeIdxExample, writeImageFolderExample } from './make-example.ts';
import { detectTaskSource, loadTaskData } from './task-data.ts';
import { parseImageSize, taskNameFrom } from './task-name.ts';

const root = mkdtempSync(join(tmpdir(), 'fedtsa-tasks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('detectTaskSource and loadTaskData', () => {
  it('tells an IDX folder from an image folder and loads either', () => {
    writeIdxExample(join(root, 'idx'), { trainCount: 24, testCount: 6 });
    writeImageFolderExample(join(root, 'img'), { perClass: 2, classes: 2 });
    const idx = detectTaskSource(join(root, 'idx'), { imageSize: [16, 16] });
    expect(idx).toEqual({ kind: 'idx', dir: join(root, 'idx'), imageSize: [16, 16] });
    expect(loadTaskData(idx).task.inputShape).toEqual([16, 16, 1]);
    const img = detectTaskSource(join(root, 'img'));
    expect(img.kind).toBe('images');
    expect(loadTaskData(img).train.count).toBe(4);
  });

  it('refuses a folder that is neither, and one that does not exist', () => {
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'empty', 'notes.txt'), 'x');
    expect(() => detectTaskSource(join(root, 'empty'))).toThrow(/holds neither IDX files .* nor class folders .*npm run make-dataset/);
    expect(() => detectTaskSource(join(root, 'missing'))).toThrow(/dataset folder .*missing does not exist/);
  });
});

describe('parseImageSize and taskNameFrom', () => {
  it('reads HxW and HxWxC and names the flag when wrong', () => {
    expect(parseImageSize('32x32x3')).toEqual([32, 32, 3]);
    expect(parseImageSize('24x16')).toEqual([24, 16]);
    expect(() => parseImageSize('30x32')).toThrow(/--image-size 30x32: height and width multiples of 4 from 16 to 64/);
    expect(() => parseImageSize('32x32x2')).toThrow(/channels 1 or 3/);
    expect(() => parseImageSize('big')).toThrow(/--image-size must be HxW or HxWxC/);
  });

  it('cleans folder names to the task name rule', () => {
    expect(taskNameFrom('My Pets_2024!')).toBe('my-pets-2024');
    expect(taskNameFrom('___')).toBe('task');
    expect(taskNameFrom('x'.repeat(50))).toHaveLength(40);
  });
});
