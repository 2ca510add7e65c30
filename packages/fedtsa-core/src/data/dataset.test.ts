import { describe, expect, it } from 'vitest';
import { classCounts, concatDatasets, subset, validateLabelledImages, type LabelledImages } from './dataset.ts';

function tiny(count: number, firstLabel = 0): LabelledImages {
  // 1x2x1 images whose pixels encode the sample index.
  const images = Float32Array.from({ length: count * 2 }, (_, i) => Math.floor(i / 2) / 10 + (i % 2) / 100);
  const labels = Uint8Array.from({ length: count }, (_, i) => (firstLabel + i) % 3);
  return { images, labels, count, height: 1, width: 2, channels: 1, numClasses: 3 };
}

describe('dataset helpers', () => {
  it('subset copies samples in order, with repeats', () => {
    const s = subset(tiny(4), [3, 0, 3]);
    expect(s.count).toBe(3);
    expect(Array.from(s.labels)).toEqual([0, 0, 0]);
    expect(Array.from(s.images)).toEqual(Array.from(Float32Array.from([0.3, 0.31, 0, 0.01, 0.3, 0.31])));
    expect(() => subset(tiny(4), [4])).toThrow(/subset: index 4/);
  });

  it('concatDatasets joins in order and checks shapes', () => {
    const c = concatDatasets([tiny(2), tiny(1, 2)]);
    expect(c.count).toBe(3);
    expect(Array.from(c.labels)).toEqual([0, 1, 2]);
    expect(c.images.length).toBe(6);
    expect(() => concatDatasets([])).toThrow(/concatDatasets/);
    expect(() => concatDatasets([tiny(1), { ...tiny(1), channels: 2, images: new Float32Array(4) }])).toThrow(/concatDatasets: dataset 1/);
  });

  it('classCounts and validation', () => {
    expect(classCounts(tiny(7))).toEqual([3, 2, 2]);
    expect(() => validateLabelledImages(tiny(3))).not.toThrow();
    expect(() => validateLabelledImages({ ...tiny(3), count: 4 }, 'myFn')).toThrow(/myFn: images has 6 values/);
    expect(() => validateLabelledImages({ ...tiny(3), labels: Uint8Array.from([0, 1, 3]) })).toThrow(/label 3 at index 2/);
  });
});
