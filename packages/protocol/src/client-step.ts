/**
 * The client's half of a round, written once: a TrainingTask in, an UpdatePayload out.
 *
 *   task.weights --decode--> model at task.widthRatio --train (core loop)--> flat weights
 *     --caller's transform (drills only)--> encode (dtype) --> UpdatePayload
 *
 * The browser's trainer (in its Web Worker or on the page) and the coordinator's virtual
 * clients both call runClientStep; they keep only their shells (sockets, timers, pause,
 * progress display, wake lock, emulated device speed).
 *
 * Why it lives in the protocol package: the step needs the core (model, training loop) and
 * the wire (task, payload, codec), and protocol is the lowest package that may see both
 * (core <- protocol <- apps). It is the client's end of the task/update contract whose server
 * end is the coordinator's update check, so both ends of the contract sit beside its types.
 * It stays pure like the rest of the package: no sockets, no clocks, no DOM; waiting between
 * batches and progress reporting are injected. Import it by its path
 * (`@fedtsa/protocol/client-step`), not through the package index, so that code which needs
 * only the wire types (the dashboard) does not load tfjs.
 */
import { modelManifest, validateSpec, type Manifest, type ModelSpec } from '@fedtsa/core/architecture';
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { buildModel, getFlatWeights, getFlatWeightsAsync, setFlatWeights } from '@fedtsa/core/model';
import { createRng, deriveSeed, shuffleInPlace } from '@fedtsa/core/rng';
import { evaluate, evaluateAsync, localTrainingSeed, trainLocal, trainLocalAsync, type BatchProgress, type TrainOptions, type TrainResult } from '@fedtsa/core/train';
import { decodeWeights, encodeWeights, sameManifest, type ManifestEntry, type WeightDtype } from './codec.ts';
import type { TrainingTask } from './events.ts';
import type { UpdatePayload } from './messages.ts';

export interface ClientStepOptions {
  /**
   * How tensors are read back. 'async' awaits every read: WebGPU in a worker returns zeros
   * from synchronous reads (see the README), so the browser uses it everywhere. 'sync' is
   * for Node, where it is faster and keeps a virtual client's step in one turn of the loop.
   */
  reads: 'sync' | 'async';
  /** Dtype of the uploaded weights (default 'float32'). */
  dtype?: WeightDtype;
  /**
   * Seed of the batch order. Default localTrainingSeed(task.round, data.count) (core train.ts),
   * as the simulation trains: a client's round is reproducible in every runner.
   */
  seed?: number;
  /** Called after every batch with the core loop's progress (epoch, batch, loss, samples seen). */
  onBatch?: (progress: BatchProgress) => void;
  /** Awaited after every batch, with reads 'async' only (the browser lets pause messages in here). */
  betweenBatches?: () => Promise<void>;
  /**
   * Federated evaluation (Welcome.serverEvaluates false): the received model is scored on these
   * held-out rows of the client's data before training, and the score travels with the update.
   */
  evaluateOn?: LabelledImages;
  /** Replaces the trained weights before they are encoded (fault drills tamper with updates here). */
  transform?: (weights: Float32Array, task: TrainingTask) => Float32Array;
}

export interface ClientStepResult {
  /** Ready to send as the 'update' event. */
  update: UpdatePayload;
  /** Mean training loss over the last epoch (the same number as update.trainLoss). */
  loss: number;
}

const FN = 'runClientStep';

function checkInputs(task: TrainingTask, data: LabelledImages, spec: ModelSpec, options: ClientStepOptions): Manifest {
  validateSpec(spec);
  if (options.reads !== 'sync' && options.reads !== 'async') throw new Error(`${FN}: options.reads must be 'sync' or 'async', got ${String(options.reads)}`);
  if (options.reads === 'sync' && options.betweenBatches) throw new Error(`${FN}: options.betweenBatches needs reads 'async'`);
  const [height, width, channels] = spec.inputShape;
  if (data.height !== height || data.width !== width || data.channels !== channels || data.numClasses !== spec.numClasses) {
    throw new Error(`${FN}: the data is ${data.height}x${data.width}x${data.channels} with ${data.numClasses} classes, ` +
      `the model takes ${height}x${width}x${channels} with ${spec.numClasses}`);
  }
  const manifest = modelManifest(spec, task.widthRatio);
  const sent: readonly ManifestEntry[] = task.weights.manifest;
  if (!sameManifest(sent, manifest)) {
    throw new Error(`${FN}: task ${task.taskId} sends [${sent.map((p) => `${p.name} [${p.shape}]`).join(', ')}], ` +
      `the width-${task.widthRatio} model has [${manifest.map((p) => `${p.name} [${p.shape}]`).join(', ')}]`);
  }
  return manifest;
}

/**
 * Decodes the task's weights, trains them on `data` with the task's settings, and returns the
 * encoded update. Leaves tf.memory().numTensors as it found it, also when training throws.
 */
export async function runClientStep(
  task: TrainingTask, data: LabelledImages, spec: ModelSpec, options: ClientStepOptions,
): Promise<ClientStepResult> {
  const manifest = checkInputs(task, data, spec, options);
  const initial = decodeWeights(task.weights);
  const trainOptions: TrainOptions = {
    epochs: task.epochs, batchSize: task.batchSize, learningRate: task.learningRate, optimizer: task.optimizer,
    rng: createRng(options.seed ?? localTrainingSeed(task.round, data.count)), onBatch: options.onBatch,
  };
  const model = buildModel(spec, task.widthRatio);
  let trained: Float32Array;
  let result: TrainResult;
  let evaluation: UpdatePayload['evaluation'];
  try {
    setFlatWeights(model, initial, manifest);
    if (options.evaluateOn && options.evaluateOn.count > 0) {
      const e = options.reads === 'sync' ? evaluate(model, options.evaluateOn) : await evaluateAsync(model, options.evaluateOn);
      evaluation = { accuracy: e.accuracy, loss: e.loss, count: e.count };
    }
    if (options.reads === 'sync') {
      result = trainLocal(model, data, trainOptions);
      trained = getFlatWeights(model);
    } else {
      result = await trainLocalAsync(model, data, trainOptions, options.betweenBatches ?? (async () => {}));
      trained = await getFlatWeightsAsync(model);
    }
  } finally {
    model.dispose();
  }
  const weights = options.transform ? options.transform(trained, task) : trained;
  return {
    update: {
      runId: task.runId, round: task.round, clusterIndex: task.clusterIndex, taskId: task.taskId,
      numSamples: data.count, trainLoss: result.loss, ...(evaluation ? { evaluation } : {}),
      weights: encodeWeights(weights, manifest, options.dtype ?? 'float32'),
    },
    loss: result.loss,
  };
}

/**
 * A client's split of its own data for federated evaluation: `fraction` of the rows (at least
 * one, at most all but one) held out in a fixed order, the rest to train on. Deterministic, so a
 * client holds out the same rows every round.
 */
export function localHoldout(data: LabelledImages, fraction = 0.2): { train: LabelledImages; holdout: LabelledImages } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`localHoldout: fraction must be in (0, 1), got ${fraction}`);
  if (data.count < 2) return { train: data, holdout: subset(data, new Int32Array(0)) };
  const order = shuffleInPlace(createRng(deriveSeed(data.count, 99)), Array.from({ length: data.count }, (_, i) => i));
  const k = Math.min(data.count - 1, Math.max(1, Math.round(fraction * data.count)));
  return { holdout: subset(data, Int32Array.from(order.slice(0, k))), train: subset(data, Int32Array.from(order.slice(k))) };
}
