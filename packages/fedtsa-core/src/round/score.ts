/**
 * Scoring a round's cluster models, written once: every distinct model is evaluated once (the
 * clusters of fedavg-small share one), and the round's figure is the member-weighted mean of
 * the clusters' accuracies. Where and on what a model is evaluated is the runner's: the
 * simulation's training workers on its test or validation rows, the coordinator's aggregation
 * worker on its first evalSamples test images. `evaluateModel` (below) is the one function both
 * call there.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelManifest, type ModelSpec } from '../architecture.ts';
import type { LabelledImages } from '../data/dataset.ts';
import { buildModel, setFlatWeights } from '../model.ts';
import type { ClusterModel } from '../strategy/types.ts';
import { evaluate, type Evaluation } from '../train.ts';

export interface ClusterScore extends Evaluation {
  clusterIndex: number;
  widthRatio: number;
  members: number;
}

export type ModelScorer = (widthRatio: number, weights: Float32Array) => Promise<Evaluation> | Evaluation;

export async function scoreModels(models: readonly ClusterModel[], score: ModelScorer): Promise<ClusterScore[]> {
  const byWeights = new Map<Float32Array, Promise<Evaluation>>();
  for (const m of models) if (!byWeights.has(m.weights)) byWeights.set(m.weights, Promise.resolve(score(m.widthRatio, m.weights)));
  return Promise.all(models.map(async (m) => ({
    clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, members: m.memberIds.length, ...(await (byWeights.get(m.weights) as Promise<Evaluation>)),
  })));
}

/** One client's score of the model it received, on its own held-out data (federated evaluation). */
export interface ClientEvaluation extends Evaluation {
  clusterIndex: number;
}

/** Federated evaluation: per cluster, the clients' scores averaged weighted by how many images each scored. */
export function aggregateEvaluations(reports: readonly ClientEvaluation[]): Map<number, Evaluation> {
  const sums = new Map<number, { correct: number; loss: number; count: number }>();
  for (const r of reports) {
    if (!(r.count > 0)) continue;
    const s = sums.get(r.clusterIndex) ?? { correct: 0, loss: 0, count: 0 };
    sums.set(r.clusterIndex, { correct: s.correct + r.accuracy * r.count, loss: s.loss + r.loss * r.count, count: s.count + r.count });
  }
  return new Map([...sums].map(([k, s]) => [k, { accuracy: s.correct / s.count, loss: s.loss / s.count, count: s.count }]));
}

/** Member-weighted mean accuracy over clusters (0 with no members). */
export function meanAccuracy(scores: readonly { accuracy: number; members: number }[]): number {
  const members = scores.reduce((s, c) => s + c.members, 0);
  return members > 0 ? scores.reduce((s, c) => s + c.accuracy * c.members, 0) / members : 0;
}

/**
 * Evaluates flat weights at `widthRatio` on `data`. `cache`: models kept by width between
 * calls (a worker scoring every round); without it the model is built and disposed here.
 */
export function evaluateModel(spec: ModelSpec, widthRatio: number, weights: Float32Array, data: LabelledImages, cache?: Map<number, tfl.LayersModel>): Evaluation {
  let model = cache?.get(widthRatio);
  if (!model) {
    model = buildModel(spec, widthRatio);
    cache?.set(widthRatio, model);
  }
  try {
    setFlatWeights(model, weights, modelManifest(spec, widthRatio));
    return evaluate(model, data);
  } finally {
    // Without a cache the model was built for this call alone.
    if (!cache) model.dispose();
  }
}
