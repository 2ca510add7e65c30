import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend.ts';
import { createRng, randomNormal } from '../rng.ts';
import { conv2dFilterGradientReference, unregisterFastConvGradients } from './conv-gradients.ts';

function randomArray(seed: number, n: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => randomNormal(rng));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

type Case = { name: string; x: [number, number, number, number]; k: [number, number, number, number]; strides: number; pad: 'same' | 'valid' };
const cases: Case[] = [
  { name: '3x3 same', x: [4, 9, 9, 3], k: [3, 3, 3, 5], strides: 1, pad: 'same' },
  { name: '5x5 same', x: [2, 8, 7, 2], k: [5, 5, 2, 4], strides: 1, pad: 'same' },
  { name: '3x3 valid', x: [3, 8, 8, 2], k: [3, 3, 2, 3], strides: 1, pad: 'valid' },
  { name: '3x3 stride 2 (fallback)', x: [2, 9, 9, 2], k: [3, 3, 2, 3], strides: 2, pad: 'same' },
];

/** Gradients of sum(conv(x, w) * probe) on the current backend. */
function convGrads(c: Case, xv: Float32Array, wv: Float32Array, probe: tf.Tensor4D) {
  return tf.tidy(() => {
    const f = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(x, w, c.strides, c.pad), probe));
    const [dx, dw] = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.k)]);
    return { dx: dx!.dataSync().slice(), dw: dw!.dataSync().slice() };
  });
}

describe('fast conv gradients', () => {
  beforeAll(async () => useBackend('wasm'));
  afterAll(() => unregisterFastConvGradients('wasm'));

  for (const c of cases) {
    it(`match the cpu backend and the JS reference: ${c.name}`, async () => {
      const xv = randomArray(1, c.x.reduce((a, b) => a * b));
      const wv = randomArray(2, c.k.reduce((a, b) => a * b));
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.k) as tf.Tensor4D, c.strides, c.pad).shape);
      const pv = randomArray(3, outShape.reduce((a, b) => a * b));

      await useBackend('wasm');
      const probeW = tf.tensor4d(pv, outShape);
      const before = tf.memory().numTensors;
      const fast = convGrads(c, xv, wv, probeW);
      expect(tf.memory().numTensors).toBe(before);
      probeW.dispose();

      await tf.setBackend('cpu'); // stock cpu kernels as the independent check
      const probeC = tf.tensor4d(pv, outShape);
      const slow = convGrads(c, xv, wv, probeC);
      probeC.dispose();
      await useBackend('wasm');

      expect(maxAbsDiff(fast.dw, slow.dw)).toBeLessThan(1e-4 * Math.max(1, ...Array.from(slow.dw, Math.abs)));
      expect(maxAbsDiff(fast.dx, slow.dx)).toBeLessThan(1e-4 * Math.max(1, ...Array.from(slow.dx, Math.abs)));

      const pads = c.pad === 'valid' ? [0, 0] : (() => {
        const ph = Math.max((outShape[1] - 1) * c.strides + c.k[0] - c.x[1], 0);
        const pw = Math.max((outShape[2] - 1) * c.strides + c.k[1] - c.x[2], 0);
        return [Math.floor(ph / 2), Math.floor(pw / 2)];
      })();
      const ref = conv2dFilterGradientReference(xv, c.x, pv, outShape, c.k, [c.strides, c.strides], pads as [number, number]);
      expect(maxAbsDiff(ref, slow.dw)).toBeLessThan(1e-4 * Math.max(1, ...Array.from(slow.dw, Math.abs)));
    });
  }

  it('makes a conv filter gradient possible on wasm at all', async () => {
    unregisterFastConvGradients('wasm');
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1]) as tf.Tensor4D))).toThrow();
    await useBackend('wasm');
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1]) as tf.Tensor4D).dataSync());
    // centre tap sees all 16 pixels, a corner tap sees 9
    expect(g[4]).toBe(16);
    expect(g[0]).toBe(9);
  });
});
