/**
 * The same diagnostics for models dumped by the code of 3f5c1b5 (the commit of results/fmnist-stage2),
 * patched in a scratch copy to write every round's cluster models (DUMP_DIR): does the seed-3 collapse
 * of the width-1/4 model come with dead units?
 *
 *   node --import tsx results/heterofl-published/inspect-dumps.ts /tmp/old-dump > old-collapse-seed-3.txt
 */
import { readdirSync, readFileSync } from 'node:fs';
import { useBackend } from '@fedtsa/core/backend';
import { FASHION_MNIST_TASK, taskSpec } from '@fedtsa/core/task';
import { loadFashionMnist } from '@fedtsa/node-io/fashion-mnist';
import * as tf from '@tensorflow/tfjs-core';
import { inspect } from './inspect.ts';

const dir = process.argv[2] as string;
await useBackend('wasm');
const test = loadFashionMnist().test;
const n = 1000;
const x = tf.tensor4d(test.images.subarray(0, n * 784), [n, 28, 28, 1]);
const labels = test.labels.subarray(0, n);
const files = readdirSync(dir).filter((f) => f.endsWith('.bin') && f.includes('-c0-'));
const round = (f: string) => Number(/-r(\d+)-/.exec(f)?.[1]);
for (const f of files.sort((a, b) => round(a) - round(b))) {
  const widthRatio = Number(/-w([\d.]+)\.bin$/.exec(f)?.[1]);
  const buf = readFileSync(`${dir}/${f}`);
  const weights = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const r = inspect(taskSpec(FASHION_MNIST_TASK), widthRatio, weights, x, labels);
  console.log(`round ${round(f)} w${widthRatio}: acc ${(r.accuracy * 100).toFixed(1)}%, alive ${r.layers.map((l, i) => `${['conv1', 'conv2', 'fc1'][i]} ${l.alive}/${l.units}`).join(', ')}, logit std ${r.zStd.toFixed(3)}, fc1 biases < 0: ${r.biasFc1}`);
}
x.dispose();
