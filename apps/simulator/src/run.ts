/**
 * Runs one strategy (or the centralised upper bound) for the configured rounds, on the core's
 * round: participants (round/participants.ts), the arrival check (screening/arrival.ts), the
 * close (round/close.ts: screen, capped Stage 1, invariants, Stage 2) and the scores
 * (round/score.ts), as the coordinator runs them.
 */
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { deriveSeed } from '@fedtsa/core/rng';
import { closeRound, type CarriedServerStep, type ReceivedUpdate } from '@fedtsa/core/round/close';
import { RoundMemory } from '@fedtsa/core/round/memory';
import { selectParticipants } from '@fedtsa/core/round/participants';
import { DEFAULT_ROUND_POLICY } from '@fedtsa/core/round/policy';
import { meanAccuracy, scoreModels, type ClusterScore } from '@fedtsa/core/round/score';
import { screenArrival } from '@fedtsa/core/screening/arrival';
import { createStrategy } from '@fedtsa/core/strategy/strategies';
import type { ClusterModel, ServerStep, Strategy, StrategyName } from '@fedtsa/core/strategy/types';
import { localTrainingSeed } from '@fedtsa/core/train';
import type { SimulationConfig } from './config.ts';
import type { Experiment } from './experiment.ts';
import type { WorkerPool } from './pool.ts';
import { clientPhase, DEFAULT_WALL_CLOCK, roundSecOf, type ClientWork } from './wall-clock.ts';

export type ClusterResult = Omit<ClusterScore, 'count'>;

/** What the round's safeguards did (honest simulated clients: every count is a false positive). */
export interface SafeguardCounts {
  refused: number;
  dropped: number;
  /** Clusters whose direction screen stood down: their updates did not agree (absent in results made before it was counted). */
  unscreened?: number;
  capped: number;
  rollbacks: number;
  teachersExcluded: number;
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
  safeguards?: SafeguardCounts;
  /**
   * The simulated clock (wall-clock.ts): this round's length on the devices' throughput and
   * bandwidth plus the server's measured Stage 1 and server step, the run's total so far, and
   * the participants dropped for missing the deadline. Absent for the centralised bound.
   */
  simulatedSec?: number;
  simulatedElapsedSec?: number;
  late?: number;
  /** Final record only: the width-1 global model's accuracy, for strategies that keep one (HeteroFL, FedRolex, FjORD). */
  globalAccuracy?: number;
}

export interface StrategyResult {
  name: StrategyName | 'centralised';
  rounds: SimRoundRecord[];
  /** On the whole test set after the last round. */
  final: SimRoundRecord;
  wallMs: number;
}

export type Progress = (message: string) => void;

function firstRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

async function evaluateModels(pool: WorkerPool, models: ClusterModel[], rows: Int32Array): Promise<ClusterResult[]> {
  const scores = await scoreModels(models, (widthRatio, weights) => pool.evaluate({ split: 'test', indices: rows, widthRatio, weights }));
  return scores.map(({ count: _count, ...c }) => c);
}

/** What a cluster's devices would use now (FedRolex: the window last trained), which evaluation scores. */
const evaluated = (strategy: Strategy): ClusterModel[] => strategy.evaluatedModels?.() ?? strategy.clusterModels();

/** `afterRound`: sees each round's final models (tests compare them with the coordinator's). */
export async function runStrategy(
  name: StrategyName, config: SimulationConfig, exp: Experiment, pool: WorkerPool, progress: Progress, serverStep?: ServerStep,
  afterRound?: (round: number, models: readonly ClusterModel[]) => void,
): Promise<StrategyResult> {
  const started = performance.now();
  const strategy = createStrategy(name, { spec: exp.spec, clusters: exp.setup.clusters, initialWeights: exp.initialWeights, serverStep, seed: config.seed, heterofl: config.heterofl });
  const shardOf = new Map(exp.profiles.map((p, i) => [p.id, exp.shards[i] as Int32Array]));
  const deviceOf = new Map(exp.profiles.map((p, i) => [p.id, { samplesPerSec: p.samplesPerSec, tier: exp.tierOf[i] as string }]));
  const clock = config.wallClock ?? DEFAULT_WALL_CLOCK;
  // An experiment with tiers the clock has no bandwidth for (one built by hand, custom tiers without --bandwidth) runs without it: no drops, no simulated time.
  const unpriced = [...new Set(exp.tierOf)].filter((tier) => clock.bandwidthBytesPerSec[tier] === undefined);
  if (unpriced.length > 0) progress(`${name}: simulated clock off, no bandwidth for tier(s) ${unpriced.join(', ')} (--bandwidth TIER=B)`);
  let simulatedElapsedSec = 0;
  const roundRows = firstRows(Math.min(config.evalSamplesPerRound, exp.test.count));
  const policy = config.policy ?? DEFAULT_ROUND_POLICY;
  const memory = new RoundMemory();
  const rounds: SimRoundRecord[] = [];
  // Overlap: the previous round's deferred server step, run before this round's close (its result does not depend on when).
  let carried: CarriedServerStep | undefined;
  for (let round = 1; round <= config.rounds; round++) {
    const selected = selectParticipants(exp.setup.clusters, { seed: config.seed, round, count: (n) => Math.max(1, Math.round(config.participation * n)) });
    const t0 = performance.now();
    const tasks = strategy.tasks([...selected.keys()]);
    const trained = await Promise.all(tasks.map(async (task) => {
      const indices = shardOf.get(task.clientId) as Int32Array;
      return pool.train({
        indices, widthRatio: task.widthRatio, weights: task.weights,
        epochs: config.localEpochs, batchSize: config.batchSize, learningRate: config.learningRate, optimizer: config.optimizer,
        seed: localTrainingSeed(round, indices.length), ...(task.training ? { training: task.training } : {}),
      });
    }));
    const trainMs = performance.now() - t0;
    // The simulated clock: whoever would miss the deadline is dropped, as the coordinator does; the previous round's deferred step runs meanwhile.
    const phase = unpriced.length > 0 ? undefined : clientPhase(tasks.map((task, i): ClientWork => ({
      clientId: task.clientId, ...(deviceOf.get(task.clientId) as { samplesPerSec: number; tier: string }),
      numSamples: (trained[i] as { numSamples: number }).numSamples, epochs: config.localEpochs, widthRatio: task.widthRatio,
      weightsDown: task.weights.length, weightsUp: task.weights.length,
    })), clock, (carried?.ms ?? 0) / 1000);
    const late = new Set(phase?.lateIds);
    // Arrival in selection order (the coordinator checks them as they come in).
    const updates: ReceivedUpdate[] = [];
    let refused = 0;
    tasks.forEach((task, i) => {
      if (late.has(task.clientId)) return;
      const weights = (trained[i] as { weights: Float32Array }).weights;
      const sameRound = updates.filter((u) => u.clusterIndex === task.clusterIndex).map((u) => u.distance);
      const check = screenArrival(weights, task.weights, memory.reference(task.clusterIndex, sameRound), policy.normMultiple);
      if (!check.ok) refused++;
      else updates.push({ clientId: task.clientId, clusterIndex: task.clusterIndex, widthRatio: task.widthRatio, weights, numSamples: (trained[i] as { numSamples: number }).numSamples, distance: check.distance });
    });
    const sent = new Map(tasks.map((t) => [t.clusterIndex, t.weights]));
    const outcome = await closeRound(strategy, {
      round, updates, sent, history: memory.histories(), policy, carried, deferServerStep: config.stage2.overlap && round < config.rounds,
    });
    carried = await outcome.deferred?.run();
    // A deferred step's own time (in a deployment it runs during the next round's training): its figures reach the next round's record with its change.
    const serverStepStats = outcome.deferred && carried ? { ...outcome.serverStepStats, deferredStepMs: carried.ms } : outcome.serverStepStats;
    memory.remember(outcome);
    afterRound?.(round, outcome.models);
    const clusters = await evaluateModels(pool, evaluated(strategy), roundRows);
    const safeguards: SafeguardCounts = {
      refused, dropped: outcome.dropped.length, unscreened: outcome.unscreened.length, capped: outcome.capped.length, rollbacks: outcome.rollbacks.length,
      teachersExcluded: outcome.teachers.filter((t) => !t.teaches).length,
    };
    const simulatedSec = phase ? roundSecOf(phase, { stage1Sec: outcome.stage1Ms / 1000, serverStepSec: outcome.serverStepMs / 1000 }) : undefined;
    simulatedElapsedSec += simulatedSec ?? 0;
    const record: SimRoundRecord = {
      round, clusters, meanAccuracy: meanAccuracy(clusters), trainMs, stage1Ms: outcome.stage1Ms, serverStepMs: outcome.serverStepMs,
      serverStepStats, safeguards, ...(simulatedSec !== undefined ? { simulatedSec, simulatedElapsedSec, late: late.size } : {}),
    };
    rounds.push(record);
    const flagged = Object.entries(safeguards).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
    progress(`${name} round ${round}/${config.rounds}: mean acc ${(record.meanAccuracy * 100).toFixed(1)}% ` +
      `[${clusters.map((c) => `w${c.widthRatio}:${(c.accuracy * 100).toFixed(1)}`).join(' ')}] train ${(trainMs / 1000).toFixed(1)}s` +
      (outcome.serverStepMs > 0 ? ` stage2 ${(outcome.serverStepMs / 1000).toFixed(1)}s (generation ${((outcome.serverStepStats.generationMs ?? 0) / 1000).toFixed(1)}s)` : '') +
      (carried && outcome.deferred ? ` stage2 deferred ${(carried.ms / 1000).toFixed(1)}s (generation ${((carried.stats.generationMs ?? 0) / 1000).toFixed(1)}s)` : '') +
      (flagged ? ` safeguards: ${flagged}` : '') +
      (simulatedSec !== undefined ? ` simulated ${simulatedSec.toFixed(1)}s${late.size > 0 ? ` (${late.size} late)` : ''}` : ''));
  }
  const finalClusters = await evaluateModels(pool, evaluated(strategy), firstRows(exp.test.count));
  const last = rounds[rounds.length - 1] as SimRoundRecord;
  // The width-1 global model, for strategies that keep one: what their papers report.
  const global = strategy.globalWeights?.();
  const globalAccuracy = global ? (await pool.evaluate({ split: 'test', indices: firstRows(exp.test.count), widthRatio: 1, weights: global })).accuracy : undefined;
  return {
    name, rounds, final: { ...last, clusters: finalClusters, meanAccuracy: meanAccuracy(finalClusters), ...(globalAccuracy !== undefined ? { globalAccuracy } : {}) },
    wallMs: performance.now() - started,
  };
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
