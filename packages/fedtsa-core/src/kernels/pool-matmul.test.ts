import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend.ts';
import { createRng, randomNormal } from '../rng.ts';

function randomTensor(seed: number, shape: number[]): tf.Tensor {
  const rng = createRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => randomNormal(rng)), shape);
}

/** Runs f on the patched wasm backend and on stock cpu and returns both results. */
async function onBothBackends(f: () => Float32Array[]): Promise<[Float32Array[], Float32Array[]]> {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const fast = f();
  expect(tf.memory().numTensors).toBe(before);
  await tf.setBackend('cpu'); // useBackend('cpu') would patch cpu too; stock kernels are the oracle
  const slow = f();
  await useBackend('wasm');
  return [fast, slow];
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(tol * Math.max(1, Math.abs(b[i] as number)));
}

describe('fast max-pool and matmul gradients', () => {
  beforeAll(async () => useBackend('wasm'));

  for (const [name, shape, pool, stride] of [
    ['2x2 stride 2', [3, 8, 6, 5], 2, 2],
    ['3x3 stride 3', [2, 9, 9, 4], 3, 3],
    ['3x3 stride 1 (falls through)', [2, 7, 7, 3], 3, 1],
  ] as const) {
    it(`max-pool gradient matches stock cpu: ${name}`, async () => {
      const [fast, slow] = await onBothBackends(() => tf.tidy(() => {
        const x = randomTensor(1, [...shape]) as tf.Tensor4D;
        const out = tf.maxPool(x, pool, stride, 'valid');
        const probe = randomTensor(2, out.shape);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, pool, stride, 'valid'), probe)))(x);
        return [g.dataSync().slice() as Float32Array];
      }));
      expectClose(fast[0]!, slow[0]!);
    });
  }

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matMul and its gradients match stock cpu: transposeA=${ta} transposeB=${tb}`, async () => {
      const [fast, slow] = await onBothBackends(() => tf.tidy(() => {
        const a = randomTensor(3, ta ? [7, 5] : [5, 7]);
        const b = randomTensor(4, tb ? [6, 7] : [7, 6]);
        const probe = randomTensor(5, [5, 6]);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), probe));
        const [ga, gb] = tf.grads(f)([a, b]);
        return [tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), ga!, gb!].map((t) => t.dataSync().slice() as Float32Array);
      }));
      fast.forEach((v, i) => expectClose(v, slow[i]!));
    });
  }

  it('batched matMul with transposes matches stock cpu', async () => {
    const [fast, slow] = await onBothBackends(() => tf.tidy(() => {
      const a = randomTensor(6, [3, 4, 5]);
      const b = randomTensor(7, [3, 6, 4]);
      return [tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, true, true).dataSync().slice() as Float32Array];
    }));
    expectClose(fast[0]!, slow[0]!);
  });
});
