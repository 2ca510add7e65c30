import { describe, expect, it } from 'vitest';
import { formatProbability, rankClasses } from './prediction.ts';

describe('rankClasses', () => {
  it('ranks classes by falling probability, ties in the task order', () => {
    const ranked = rankClasses([0.1, 0.6, 0.15, 0.15], ['circle', 'square', 'triangle', 'star']);
    expect(ranked.map((r) => r.className)).toEqual(['square', 'triangle', 'star', 'circle']);
    expect(ranked[0]).toEqual({ classIndex: 1, className: 'square', probability: 0.6 });
  });

  it('takes a Float32Array, as tfjs returns', () => {
    expect(rankClasses(Float32Array.of(0.25, 0.75), ['a', 'b']).map((r) => r.classIndex)).toEqual([1, 0]);
  });

  it('refuses probabilities that do not fit the classes or are not a distribution', () => {
    expect(() => rankClasses([0.5, 0.5], ['a', 'b', 'c'])).toThrow(/2 probabilities for 3 classes/);
    expect(() => rankClasses([0.5, Number.NaN], ['a', 'b'])).toThrow(/class 'b'/);
    expect(() => rankClasses([2, -1], ['a', 'b'])).toThrow(/not in 0-1/);
    expect(() => rankClasses([0.2, 0.2], ['a', 'b'])).toThrow(/sum to 0.4/);
  });
});

describe('formatProbability', () => {
  it('gives percent with one decimal, and a floor for tiny non-zero values', () => {
    expect(formatProbability(0.8734)).toBe('87.3%');
    expect(formatProbability(1)).toBe('100.0%');
    expect(formatProbability(0)).toBe('0.0%');
    expect(formatProbability(0.0004)).toBe('<0.1%');
  });
});
