/**
 * Generator fidelity: a classifier trained on real labelled training data (never the test
 * set) labels generated samples; its accuracy against the requested classes is the fidelity.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel, getFlatWeights, setFlatWeights } from '@fedtsa/core/model';
import { createRng } from '@fedtsa/core/rng';
import type { SyntheticDataSource } from '@fedtsa/core/stage2/synthetic-source';
import { evaluate, trainLocal } from '@fedtsa/core/train';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface FidelityReport {
  overall: number;
  perClass: number[];
  samplesPerClass: number;
  /** The classifier's accuracy on real images it never trained on (validation split). */
  classifierValidationAccuracy: number;
}

const CLASSIFIER_FILE = 'fidelity-classifier.bin';

/** Loads the classifier saved beside the checkpoint, or trains and saves it. */
export function loadOrTrainClassifier(
  dir: string, spec: ModelSpec, train: LabelledImages, validation: LabelledImages, log: (m: string) => void, epochs = 3,
): { model: tfl.LayersModel; validationAccuracy: number } {
  const model = buildModel(spec, 1, 4242);
  const path = join(dir, CLASSIFIER_FILE);
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    setFlatWeights(model, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), modelManifest(spec, 1));
  } else {
    log(`training the fidelity classifier on ${train.count} real training images, ${epochs} epochs`);
    trainLocal(model, train, { epochs, batchSize: 64, learningRate: 1e-3, optimizer: 'adam', rng: createRng(4243) });
    writeFileSync(path, Buffer.from(getFlatWeights(model).buffer));
  }
  const validationAccuracy = evaluate(model, validation).accuracy;
  log(`fidelity classifier: ${(validationAccuracy * 100).toFixed(1)}% on ${validation.count} validation images`);
  return { model, validationAccuracy };
}

export async function measureFidelity(
  source: SyntheticDataSource, classifier: tfl.LayersModel, classifierValidationAccuracy: number, samplesPerClass: number, seed: number,
): Promise<{ report: FidelityReport; samples: LabelledImages }> {
  const k = source.numClasses;
  const labels = Uint8Array.from({ length: k * samplesPerClass }, (_, i) => Math.floor(i / samplesPerClass));
  const samples = await source.sample(labels, seed);
  const perClass = Array.from({ length: k }, (_, c) => {
    const rows = Array.from({ length: samplesPerClass }, (_, i) => c * samplesPerClass + i);
    const images = new Float32Array(rows.length * samples.height * samples.width * samples.channels);
    const size = samples.height * samples.width * samples.channels;
    rows.forEach((r, i) => images.set(samples.images.subarray(r * size, (r + 1) * size), i * size));
    return evaluate(classifier, { ...samples, images, labels: new Uint8Array(rows.length).fill(c), count: rows.length }).accuracy;
  });
  const overall = perClass.reduce((a, b) => a + b, 0) / k;
  return { report: { overall, perClass, samplesPerClass, classifierValidationAccuracy }, samples };
}
