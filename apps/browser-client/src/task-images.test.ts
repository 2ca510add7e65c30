import { describe, expect, it } from 'vitest';
import { defineTask } from '@fedtsa/core/task';
import { convertedFor, describeShape, taskImages } from './task-images.ts';

const task = defineTask({ name: 'shapes', inputShape: [32, 16, 3], classNames: ['a', 'b', 'c'] });

describe('taskImages', () => {
  it("makes the task's model inputs: its shape and classes, pixels / 255", () => {
    const images = Uint8Array.from({ length: 2 * 32 * 16 * 3 }, (_, i) => i % 256);
    const data = taskImages(task, images, Uint8Array.from([0, 2]), 2);
    expect(data).toMatchObject({ count: 2, height: 32, width: 16, channels: 3, numClasses: 3 });
    expect(data.images[255]).toBeCloseTo(1);
    expect(data.images[51]).toBeCloseTo(51 / 255);
  });

  it('refuses bytes of another shape, naming the task and its shape', () => {
    expect(() => taskImages(task, new Uint8Array(2 * 28 * 28), Uint8Array.from([0, 1]), 2))
      .toThrow("taskImages: 1568 pixel values for 2 images, but task 'shapes' takes 32x16x3 = 1536 per image");
  });

  it('refuses labels beyond its classes', () => {
    expect(() => taskImages(task, new Uint8Array(32 * 16 * 3), Uint8Array.from([3]), 1)).toThrow(/label 3 of image 0 is out of range for task 'shapes' \(3 classes\)/);
  });
});

describe('own images kept for a task', () => {
  it('fit only the same task name, shape and classes', () => {
    const kept = { taskName: 'shapes', shape: [32, 16, 3], classNames: ['a', 'b', 'c'] };
    expect(convertedFor(task, kept)).toBe(true);
    expect(convertedFor(task, { ...kept, shape: [32, 16, 1] })).toBe(false);
    expect(convertedFor(task, { ...kept, classNames: ['a', 'b'] })).toBe(false);
    expect(convertedFor(task, { ...kept, taskName: 'other' })).toBe(false);
    expect(convertedFor(task, {})).toBe(false);
  });

  it('describes the shape as height x width and colour', () => {
    expect(describeShape(task)).toBe('32x16 colour');
  });
});
