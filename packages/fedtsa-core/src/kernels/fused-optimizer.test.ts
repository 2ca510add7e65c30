import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import '../backend.ts';
import { createRng, randomNormal } from '../rng.ts';
import { createFusedOptimizer, type FusedOptimizerKind } from './fused-optimizer.ts';

const shapes = [[3, 3, 1, 4], [4], [7, 5], [5]];
const sizes = shapes.map((s) => s.reduce((a, b) => a * b));

function randomArray(rng: ReturnType<typeof createRng>, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => randomNormal(rng));
}

/** Three steps of tfjs's optimizer on stock cpu kernels: the oracle. */
function tfjsSteps(kind: FusedOptimizerKind, lr: number, start: Float32Array[], grads: Float32Array[][]): Float32Array[] {
  const vars = start.map((w, i) => tf.variable(tf.tensor(w, shapes[i]), true, `fused-opt-${kind}-${i}`));
  const optimizer = kind === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, 0.9);
  for (const step of grads) {
    const named = step.map((g, i) => ({ name: (vars[i] as tf.Variable).name, tensor: tf.tensor(g, shapes[i]) }));
    optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
  }
  const out = vars.map((v) => v.dataSync().slice() as Float32Array);
  optimizer.dispose();
  tf.dispose(vars);
  return out;
}

describe('fused optimizers', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  for (const kind of ['sgd', 'adam'] as const) {
    it(`${kind}: three steps give tfjs's weights on stock cpu to the last bit`, () => {
      const rng = createRng(kind === 'sgd' ? 1 : 2);
      const start = sizes.map((n) => randomArray(rng, n));
      const grads = [0, 1, 2].map(() => sizes.map((n) => randomArray(rng, n)));
      const expected = tfjsSteps(kind, 0.03, start, grads);
      const weights = start.map((w) => w.slice());
      const optimizer = createFusedOptimizer(kind, 0.03, sizes);
      for (const step of grads) optimizer.apply(weights, step);
      weights.forEach((w, i) => {
        expect(w).toEqual(expected[i]);
        expect(w).not.toEqual(start[i]);
      });
    });
  }

  it('validates its arguments', () => {
    expect(() => createFusedOptimizer('sgd', 0, [1])).toThrow(/createFusedOptimizer: learningRate/);
    expect(() => createFusedOptimizer('rmsprop' as FusedOptimizerKind, 0.1, [1])).toThrow(/createFusedOptimizer: unknown optimizer/);
  });
});
