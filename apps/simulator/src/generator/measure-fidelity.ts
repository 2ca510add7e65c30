/**
 * Measures a generator checkpoint's fidelity and writes a sample grid (a row per class).
 *
 *   npm run generator:fidelity -- --checkpoint checkpoints/fmnist-ddpm --per-class 100
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { subset } from '@fedtsa/core/data/dataset';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '@fedtsa/node-io/fashion-mnist';
import { holdoutSplit, STANDARD_HOLDOUT } from '@fedtsa/core/data/holdout';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import { loadOrTrainClassifier, measureFidelity } from './fidelity.ts';
import { imageGrid } from '@fedtsa/node-io/png';

const { values } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'checkpoints/fmnist-ddpm' },
    'classifier-dir': { type: 'string' },
    'per-class': { type: 'string', default: '100' },
    steps: { type: 'string', default: '25' },
    guidance: { type: 'string', default: '3' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string' },
  },
});
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const dir = values.checkpoint as string;
const out = values.out ?? dir;
await useBackend('wasm');
const checkpoint = readCheckpoint(dir);
if (!checkpoint) throw new Error(`no checkpoint in ${dir}`);
const { train } = loadFashionMnist();
const split = holdoutSplit(train.count, STANDARD_HOLDOUT);
const classifier = loadOrTrainClassifier(values['classifier-dir'] ?? dir, { inputShape: [28, 28, 1], numClasses: 10 },
  subset(train, [...split.publicPool, ...split.clientPool]), subset(train, split.validation), log);
const generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps: Number(values.steps), guidance: Number(values.guidance) });
const perClass = Number(values['per-class']);
const t0 = performance.now();
const { report, samples } = await measureFidelity(generator, classifier.model, classifier.validationAccuracy, perClass, Number(values.seed));
const seconds = (performance.now() - t0) / 1000;
const result = {
  checkpoint: dir, step: checkpoint.step, ddimSteps: Number(values.steps), guidance: Number(values.guidance), samples: samples.count,
  samplesPerSecond: samples.count / seconds, ...report,
  perClassNamed: Object.fromEntries(report.perClass.map((p, i) => [FASHION_MNIST_CLASSES[i], p])),
};
const tag = `g${values.guidance}-s${values.steps}`;
writeFileSync(join(out, `fidelity-${tag}.json`), JSON.stringify(result, null, 2));
// A row per class: the first 12 samples of each.
const cols = Math.min(12, perClass);
const rows = new Float32Array(10 * cols * 784);
for (let c = 0; c < 10; c++) rows.set(samples.images.subarray(c * perClass * 784, (c * perClass + cols) * 784), c * cols * 784);
writeFileSync(join(out, `samples-${tag}.png`), imageGrid(rows, 10 * cols, 28, 28, 1, cols));
log(`step ${checkpoint.step}: fidelity ${(report.overall * 100).toFixed(1)}% on ${samples.count} samples ` +
  `(${(samples.count / seconds).toFixed(1)} samples/s); per class ${report.perClass.map((p) => (p * 100).toFixed(0)).join(' ')}`);
generator.dispose();
