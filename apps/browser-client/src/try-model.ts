/**
 * "Try the model" and its download, on this device, with the page's own tfjs (loaded only when
 * the participant uses them: participant-view.ts imports this file on demand).
 *
 * The model is the one this device holds (HeldModel): during the run, its cluster's model as the
 * coordinator sent it for the latest round (trained through the round before); once the run is
 * over, its cluster's final model (GET /api/runs/:id/progress/model). A picked image goes through the same conversion as
 * the participant's own training images (own-data.ts decodeImage and toTaskPixels, then core
 * taskImages), so the model sees it exactly as it would see a training image.
 *
 * The download is a tfjs layers model (tf.loadLayersModel loads it): `<name>.json` (topology,
 * weights manifest, and `userDefinedMetadata.fedtsa`: run, cluster, width, the last round it
 * holds (`trainedThrough`) and the whole task: shape, classes, normalisation) and
 * `<name>.weights.bin` (float32). The model outputs logits: apply a softmax for probabilities,
 * to inputs divided by 255.
 */
import * as tf from '@tensorflow/tfjs-core';
import { modelManifest } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import { buildModel, setFlatWeights } from '@fedtsa/core/model';
import { taskImages, taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import { decodeImage, toTaskPixels } from './own-data.ts';
import { rankClasses, type RankedClass } from './prediction.ts';

/** A cluster model this page received, decoded to float32 in the manifest order of its width. */
export interface HeldModel {
  runId: string;
  task: TaskDefinition;
  /** The last round whose training it holds (0: the starting model). */
  trainedThrough: number;
  clusterIndex: number;
  widthRatio: number;
  weights: Float32Array;
}

let built: { held: HeldModel; model: ReturnType<typeof buildModel> } | undefined;

/** The page's tfjs: in-page training (?worker=off) has chosen a backend, which is kept; otherwise cpu, plenty for one image. */
async function ready(): Promise<void> {
  if (!tf.getBackend()) await useBackend('cpu');
}

/** The layers model of `held`, built once per held model (the previous one is disposed). */
function modelOf(held: HeldModel): ReturnType<typeof buildModel> {
  if (built?.held === held) return built.model;
  built?.model.dispose();
  built = undefined;
  const spec = taskSpec(held.task);
  const model = buildModel(spec, held.widthRatio);
  try {
    setFlatWeights(model, held.weights, modelManifest(spec, held.widthRatio));
  } catch (err) {
    model.dispose();
    throw err;
  }
  built = { held, model };
  return model;
}

/** The model's class probabilities for one picked image, ranked. */
export async function predictImage(held: HeldModel, file: File): Promise<RankedClass[]> {
  await ready();
  const { rgba, height, width } = await decodeImage(file);
  const pixels = toTaskPixels(rgba, height, width, held.task.inputShape);
  // taskImages checks the shape and scales to 0-1; the label is a placeholder (the image's class is what we ask).
  const input = taskImages(held.task, pixels, Uint8Array.of(0), 1);
  const [h, w, c] = held.task.inputShape;
  const model = modelOf(held);
  // [1, h, w, c] -> logits [1, classes] -> probabilities
  const probabilities = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(input.images, [1, h, w, c])) as tf.Tensor2D));
  try {
    return rankClasses(await probabilities.data(), held.task.classNames);
  } finally {
    probabilities.dispose();
  }
}

/** `fedtsa-<task>-cluster<k>-round<r>` (r: the last round it holds), safe as a file name. */
export function modelFileName(held: Pick<HeldModel, 'task' | 'clusterIndex' | 'trainedThrough'>): string {
  const task = held.task.name.replace(/[^A-Za-z0-9_-]+/g, '-');
  return `fedtsa-${task}-cluster${held.clusterIndex + 1}-round${held.trainedThrough}`;
}

/** Saves the held model as tfjs files through the browser's downloads; returns the files' base name. */
export async function downloadModel(held: HeldModel): Promise<string> {
  await ready();
  const model = modelOf(held);
  model.setUserDefinedMetadata({
    fedtsa: {
      runId: held.runId, trainedThrough: held.trainedThrough, clusterIndex: held.clusterIndex, widthRatio: held.widthRatio,
      outputs: 'logits', inputScale: '1/255', task: JSON.parse(JSON.stringify(held.task)) as object,
    },
  });
  const name = modelFileName(held);
  // Written here rather than through tfjs' 'downloads://' URL, whose handler the bundle leaves unregistered:
  // the same two files, model.json in the tfjs layers format and the weights beside it.
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightsFile = `${name}.weights.bin`;
    const json = {
      format: 'layers-model', generatedBy: 'fedtsa', convertedBy: null, modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs ?? [] }], userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    const data = artifacts.weightData;
    const weights = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
    saveFile(`${name}.json`, new Blob([JSON.stringify(json)], { type: 'application/json' }));
    saveFile(weightsFile, new Blob([weights], { type: 'application/octet-stream' }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  }));
  return name;
}

/** Hands a file to the browser's downloads. */
function saveFile(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
  a.click();
  // Revoked later: the download starts asynchronously from the URL.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
