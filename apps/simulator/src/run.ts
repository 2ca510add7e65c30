/** Runs one strategy (or the centralised upper bound) for the configured rounds. */
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { createRng, deriveSeed, shuffleInPlace } from '@fedtsa/core/rng';
import { createStrategy } from '@fedtsa/core/strategy/strategies';
import type { ClientUpdate, ClusterModel, ServerStep, StrategyName } from '@fedtsa/core/strategy/types';
import type { SimulationConfig } from './config.ts';
import type { Experiment } from './experiment.ts';
import type { WorkerPool } from './pool.ts';

export interface ClusterResult {
  clusterIndex: number;
  widthRatio: number;
  members: number;
  accuracy: number;
  loss: number;
}

/** One simulated round as the results JSON holds it (the coordinator saves its own RoundRecord, store/types.ts). */
export interface SimRoundRecord {
  round: number;
  clusters: ClusterResult[];
  /** Member-weighted mean accuracy over clusters. */
  meanAccuracy: number;
  trainMs: number;
  stage1Ms: number;
  serverStepMs: number;
  serverStepStats: Record<string, number>;
}

export interface StrategyResult {
  name: StrategyName | 'centralised';
  rounds: SimRoundRecord[];
  /** On the whole test set after the last round. */
  final: SimRoundRecord;
  wallMs: number;
}

export type Progress = (message: string) => void;

function meanWeighted(clusters: ClusterResult[]): number {
  const members = clusters.reduce((s, c) => s + c.members, 0);
  return clusters.reduce((s, c) => s + c.accuracy * c.members, 0) / members;
}

function firstRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

async function evaluateModels(pool: WorkerPool, models: ClusterModel[], rows: Int32Array): Promise<ClusterResult[]> {
  // Clusters may share one model (fedavg-small): evaluate each distinct model once.
  const byWeights = new Map<Float32Array, Promise<{ accuracy: number; loss: number }>>();
  for (const m of models) {
    if (!byWeights.has(m.weights)) byWeights.set(m.weights, pool.evaluate({ split: 'test', indices: rows, widthRatio: m.widthRatio, weights: m.weights }));
  }
  return Promise.all(models.map(async (m) => {
    const e = await (byWeights.get(m.weights) as Promise<{ accuracy: number; loss: number }>);
    return { clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, members: m.memberIds.length, accuracy: e.accuracy, loss: e.loss };
  }));
}

export async function runStrategy(
  name: StrategyName, config: SimulationConfig, exp: Experiment, pool: WorkerPool, progress: Progress, serverStep?: ServerStep,
): Promise<StrategyResult> {
  const started = performance.now();
  const strategy = createStrategy(name, { spec: exp.spec, setup: exp.setup, initialWeights: exp.initialWeights, serverStep });
  const shardOf = new Map(exp.profiles.map((p, i) => [p.id, exp.shards[i] as Int32Array]));
  const roundRows = firstRows(Math.min(config.evalSamplesPerRound, exp.test.count));
  const rounds: SimRoundRecord[] = [];
  const participantRng = createRng(deriveSeed(config.seed, 6));
  for (let round = 1; round <= config.rounds; round++) {
    const participants = exp.setup.clusters.flatMap((c) => {
      const k = Math.max(1, Math.round(config.participation * c.memberIds.length));
      return shuffleInPlace(participantRng, [...c.memberIds]).slice(0, k);
    });
    const t0 = performance.now();
    const tasks = strategy.tasks(participants);
    const updates: ClientUpdate[] = await Promise.all(tasks.map(async (task, i) => {
      const outcome = await pool.train({
        indices: shardOf.get(task.clientId) as Int32Array, widthRatio: task.widthRatio, weights: task.weights,
        epochs: config.localEpochs, batchSize: config.batchSize, learningRate: config.learningRate, optimizer: config.optimizer,
        seed: deriveSeed(config.seed, 7, round, i),
      });
      return { clientId: task.clientId, clusterIndex: task.clusterIndex, widthRatio: task.widthRatio, weights: outcome.weights, numSamples: outcome.numSamples };
    }));
    const trainMs = performance.now() - t0;
    const agg = await strategy.aggregate(round, updates);
    const clusters = await evaluateModels(pool, strategy.clusterModels(), roundRows);
    const record: SimRoundRecord = { round, clusters, meanAccuracy: meanWeighted(clusters), trainMs, stage1Ms: agg.stage1Ms, serverStepMs: agg.serverStepMs, serverStepStats: agg.serverStepStats };
    rounds.push(record);
    progress(`${name} round ${round}/${config.rounds}: mean acc ${(record.meanAccuracy * 100).toFixed(1)}% ` +
      `[${clusters.map((c) => `w${c.widthRatio}:${(c.accuracy * 100).toFixed(1)}`).join(' ')}] train ${(trainMs / 1000).toFixed(1)}s` +
      (agg.serverStepMs > 0 ? ` stage2 ${(agg.serverStepMs / 1000).toFixed(1)}s (generation ${((agg.serverStepStats.generationMs ?? 0) / 1000).toFixed(1)}s)` : ''));
  }
  const finalClusters = await evaluateModels(pool, strategy.clusterModels(), firstRows(exp.test.count));
  const last = rounds[rounds.length - 1] as SimRoundRecord;
  return { name, rounds, final: { ...last, clusters: finalClusters, meanAccuracy: meanWeighted(finalClusters) }, wallMs: performance.now() - started };
}

/** The upper bound: the width-1 model trained on the union of the clients' data, one epoch per "round" times local epochs. */
export async function runCentralised(config: SimulationConfig, exp: Experiment, pool: WorkerPool, progress: Progress): Promise<StrategyResult> {
  const started = performance.now();
  const all = firstRows(exp.clientData.count);
  let weights = exp.initialWeights;
  const members = exp.profiles.length;
  const rounds: SimRoundRecord[] = [];
  const roundRows = firstRows(Math.min(config.evalSamplesPerRound, exp.test.count));
  if (weights.length !== parameterCount(modelManifest(exp.spec, 1))) throw new Error('runCentralised: initial weights do not match the spec');
  for (let round = 1; round <= config.rounds; round++) {
    const t0 = performance.now();
    const out = await pool.train({
      indices: all, widthRatio: 1, weights, epochs: config.localEpochs, batchSize: config.batchSize,
      learningRate: config.centralisedLearningRate, optimizer: config.optimizer, seed: deriveSeed(config.seed, 8, round),
    });
    weights = out.weights;
    const trainMs = performance.now() - t0;
    const e = await pool.evaluate({ split: 'test', indices: roundRows, widthRatio: 1, weights });
    const clusters = [{ clusterIndex: 0, widthRatio: 1, members, accuracy: e.accuracy, loss: e.loss }];
    rounds.push({ round, clusters, meanAccuracy: e.accuracy, trainMs, stage1Ms: 0, serverStepMs: 0, serverStepStats: {} });
    progress(`centralised epoch ${round * config.localEpochs}/${config.rounds * config.localEpochs}: acc ${(e.accuracy * 100).toFixed(1)}% train ${(trainMs / 1000).toFixed(1)}s`);
  }
  const e = await pool.evaluate({ split: 'test', indices: firstRows(exp.test.count), widthRatio: 1, weights });
  const last = rounds[rounds.length - 1] as SimRoundRecord;
  return { name: 'centralised', rounds, final: { ...last, clusters: [{ clusterIndex: 0, widthRatio: 1, members, accuracy: e.accuracy, loss: e.loss }], meanAccuracy: e.accuracy }, wallMs: performance.now() - started };
}
