/**
 * The reference CNN as a tfjs-layers model, at any width ratio (see architecture.ts for the
 * layer sizes). The model outputs logits; losses apply the softmax.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { modelManifest, parameterCount, type Manifest, type ModelSpec } from './architecture.ts';
import { joinFlat, splitFlat } from './submodel.ts';

export function buildModel(spec: ModelSpec, widthRatio: number, seed = 0): tfl.Sequential {
  const manifest = modelManifest(spec, widthRatio);
  const shapeOf = (name: string): number[] => (manifest.find((p) => p.name === name) as Manifest[number]).shape;
  const init = (offset: number) => tfl.initializers.glorotUniform({ seed: seed * 8 + offset });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        name: 'conv1', inputShape: [...spec.inputShape], kernelSize: 3, filters: shapeOf('conv1/bias')[0] as number,
        padding: 'same', activation: 'relu', kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tfl.layers.conv2d({
        name: 'conv2', kernelSize: 3, filters: shapeOf('conv2/bias')[0] as number,
        padding: 'same', activation: 'relu', kernelInitializer: init(2),
      }),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'fc1', units: shapeOf('fc1/bias')[0] as number, activation: 'relu', kernelInitializer: init(3) }),
      tfl.layers.dense({ name: 'logits', units: spec.numClasses, kernelInitializer: init(4) }),
    ],
  });
  return model;
}

/** All trainable weights as one flat Float32Array in manifest order. */
export function getFlatWeights(model: tfl.LayersModel): Float32Array {
  const values = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const manifest: Manifest = model.getWeights().map((w, i) => ({ name: String(i), shape: w.shape }));
  return joinFlat(values, manifest);
}

/** getFlatWeights with asynchronous reads (WebGPU in a worker cannot read synchronously). */
export async function getFlatWeightsAsync(model: tfl.LayersModel): Promise<Float32Array> {
  const weights = model.getWeights();
  const values = await Promise.all(weights.map((w) => w.data() as Promise<Float32Array>));
  return joinFlat(values, weights.map((w, i) => ({ name: String(i), shape: w.shape })));
}

/** Loads a flat vector (manifest order) into the model; shapes are checked against the spec. */
export function setFlatWeights(model: tfl.LayersModel, weights: Float32Array, manifest: Manifest): void {
  const current = model.getWeights();
  if (current.length !== manifest.length) {
    throw new Error(`setFlatWeights: model has ${current.length} weights, manifest has ${manifest.length}`);
  }
  manifest.forEach((p, i) => {
    const actual = (current[i] as tf.Tensor).shape;
    if (actual.join(',') !== p.shape.join(',')) {
      throw new Error(`setFlatWeights: ${p.name} has shape [${actual}] in the model, [${p.shape}] in the manifest`);
    }
  });
  const tensors = splitFlat(weights, manifest).map((v, i) => tf.tensor(v, (manifest[i] as Manifest[number]).shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Fresh weights for a width-1 model: the common initialisation every strategy starts from. */
export function initialWeights(spec: ModelSpec, seed: number): Float32Array {
  const model = buildModel(spec, 1, seed);
  const flat = getFlatWeights(model);
  model.dispose();
  if (flat.length !== parameterCount(modelManifest(spec, 1))) throw new Error('initialWeights: manifest mismatch');
  return flat;
}
