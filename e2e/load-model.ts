/**
 * Loads a downloaded tfjs layers model (its .json and .weights.bin) on the cpu backend and
 * prints the shape of its logits for one all-zero input, as JSON on stdout.
 *
 *   node --import tsx e2e/load-model.ts <model.json> <model.weights.bin> <inputShape as JSON>
 *
 * A separate process on purpose: Playwright runs every spec file in one worker, and an earlier
 * spec (through the protocol suite's reference client) registers tfjs's wasm backend there;
 * a second tfjs inside that worker then ran kernels against the wrong backend (a clean-clone CI
 * failed on it). Here tfjs starts clean, as a user's script would.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const [jsonPath, binPath, shapeJson] = process.argv.slice(2);
if (!jsonPath || !binPath || !shapeJson) throw new Error('usage: load-model.ts <model.json> <model.weights.bin> <inputShape as JSON>');
await tf.setBackend('cpu');
const model = JSON.parse(readFileSync(jsonPath, 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
const weightData = readFileSync(binPath);
const loaded = await tfl.loadLayersModel(tf.io.fromMemory({
  modelTopology: model.modelTopology,
  weightSpecs: model.weightsManifest.flatMap((g) => g.weights),
  weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
}));
const logits = loaded.predict(tf.zeros([1, ...(JSON.parse(shapeJson) as number[])])) as tf.Tensor;
const values = await logits.data();
process.stdout.write(`${JSON.stringify({ shape: logits.shape, finite: values.every((v) => Number.isFinite(v)) })}\n`);
