/**
 * Measures a generator checkpoint's fidelity and writes a sample grid (a row per class).
 *
 *   npm run generator:fidelity -- --checkpoint checkpoints/fmnist-ddpm --per-class 100
 *   npm run generator:fidelity -- --dataset data/colour-shapes --checkpoint checkpoints/colour-shapes-ddpm --per-class 200
 *
 * The classifier and its validation images come from the same task data and split as the
 * generator's training (generator-data.ts); the checkpoint must have the task's shape and classes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { taskSpec } from '@fedtsa/core/task';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';
import { loadOrTrainClassifier, measureFidelity } from './fidelity.ts';
import { generatorSource, loadGeneratorData } from './generator-data.ts';
import { imageGrid } from '@fedtsa/node-io/png';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    'image-size': { type: 'string' },
    checkpoint: { type: 'string', default: 'checkpoints/fmnist-ddpm' },
    'classifier-epochs': { type: 'string', default: '3' },
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
const data = loadGeneratorData(generatorSource(values.dataset, values['image-size']));
const { task } = data;
const [h, w, c] = task.inputShape;
const k = task.classNames.length;
const made = checkpoint.config;
if (made.imageShape.join('x') !== task.inputShape.join('x') || made.numClasses !== k) {
  throw new Error(`${dir} generates ${made.imageShape.join('x')} images of ${made.numClasses} classes, task '${task.name}' needs ${task.inputShape.join('x')} of ${k}; ` +
    'pass the --dataset (and --image-size) it was trained on');
}
const classifier = loadOrTrainClassifier(values['classifier-dir'] ?? dir, taskSpec(task), data.classifierTrain, data.validation, log, Number(values['classifier-epochs']));
const generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps: Number(values.steps), guidance: Number(values.guidance) });
const perClass = Number(values['per-class']);
const t0 = performance.now();
const { report, samples } = await measureFidelity(generator, classifier.model, classifier.validationAccuracy, perClass, Number(values.seed));
const seconds = (performance.now() - t0) / 1000;
const result = {
  checkpoint: dir, step: checkpoint.step, ddimSteps: Number(values.steps), guidance: Number(values.guidance), samples: samples.count,
  samplesPerSecond: samples.count / seconds, ...report,
  perClassNamed: Object.fromEntries(report.perClass.map((p, i) => [task.classNames[i], p])),
};
const tag = `g${values.guidance}-s${values.steps}`;
writeFileSync(join(out, `fidelity-${tag}.json`), JSON.stringify(result, null, 2));
// A row per class: the first 12 samples of each.
const cols = Math.min(12, perClass);
const size = h * w * c;
const rows = new Float32Array(k * cols * size);
for (let y = 0; y < k; y++) rows.set(samples.images.subarray(y * perClass * size, (y * perClass + cols) * size), y * cols * size);
writeFileSync(join(out, `samples-${tag}.png`), imageGrid(rows, k * cols, h, w, c as 1 | 3, cols));
log(`step ${checkpoint.step}: fidelity ${(report.overall * 100).toFixed(1)}% on ${samples.count} samples ` +
  `(${(samples.count / seconds).toFixed(1)} samples/s); per class ${report.perClass.map((p) => (p * 100).toFixed(0)).join(' ')}`);
generator.dispose();
