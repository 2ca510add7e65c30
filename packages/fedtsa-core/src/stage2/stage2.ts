/**
 * FedTSA's Stage 2 as a ServerStep: refresh the synthetic pool, then run deep mutual
 * learning across the cluster models. The two costs are timed separately because they scale
 * differently (generation with the pool's refresh fraction, mutual learning with steps and
 * the widths) and the round report must show which one to cut.
 */
import type { ModelSpec } from '../architecture.ts';
import { deriveSeed } from '../rng.ts';
import type { ClusterModel, ServerStep } from '../strategy/types.ts';
import { stage2PoolSeed } from './pool-plan.ts';
import { resolveMutualLearningOptions, runMutualLearning, type MutualLearningOptions, type MutualLearningRunner } from './mutual-learning.ts';
import type { SyntheticPool } from './synthetic-pool.ts';

export interface Stage2Options {
  spec: ModelSpec;
  /** Kept across rounds; the step refreshes it at every call. */
  pool: SyntheticPool;
  /** Missing fields take DEFAULT_MUTUAL_LEARNING_OPTIONS (to be tuned on the validation split). */
  mutualLearning: Partial<MutualLearningOptions>;
  seed: number;
  now?: () => number;
  /** Who runs mutual learning (default runMutualLearning, on this thread); node-io's parallel-mutual-learning uses worker threads. */
  runMutualLearning?: MutualLearningRunner;
  /**
   * A pool over chunks made ahead of time may hold only part of its fill: below this many
   * samples the step leaves the models as they are and says so (stage2Skipped). Default: the
   * whole pool, which a drawing source always holds after its refresh.
   */
  minPoolSamples?: number;
}

/** Stage 2's seed for a run's seed: the same in the simulation and the coordinator. */
export function stage2Seed(runSeed: number): number {
  return deriveSeed(runSeed, 12);
}

export function createStage2Step(opts: Stage2Options): ServerStep {
  const { spec, pool, seed } = opts;
  // Validate once at setup, not in round 1 after the clients have already trained.
  const ml = resolveMutualLearningOptions(opts.mutualLearning, 'createStage2Step');
  const [h, w, c] = spec.inputShape;
  const [ph, pw, pc] = pool.imageShape;
  if (ph !== h || pw !== w || pc !== c || pool.numClasses !== spec.numClasses) {
    throw new Error(`createStage2Step: pool source is ${ph}x${pw}x${pc}/${pool.numClasses} classes, spec is ${h}x${w}x${c}/${spec.numClasses}`);
  }
  const now = opts.now ?? (() => Date.now());
  const runner = opts.runMutualLearning ?? runMutualLearning;
  const minPoolSamples = opts.minPoolSamples ?? pool.size;
  if (!(Number.isInteger(minPoolSamples) && minPoolSamples >= 1 && minPoolSamples <= pool.size)) {
    throw new Error(`createStage2Step: minPoolSamples must be an integer in [1, ${pool.size}], got ${minPoolSamples}`);
  }

  return async (round: number, models: ClusterModel[], context?: { withoutTeaching?: ReadonlyMap<number, string> }) => {
    if (models.length === 0) throw new Error('createStage2Step: no cluster models');
    const t0 = now();
    const refresh = await pool.refresh(round, stage2PoolSeed(seed));
    const t1 = now();
    // What the pool held: part of its fill, or an older round's refresh, when its chunks were not all made yet.
    const held = { generationMs: t1 - t0, generated: refresh.generated, poolSize: pool.size, poolReady: pool.count, poolRound: pool.round };
    if (pool.count < minPoolSamples) return { models, stats: { ...held, stage2Skipped: 1 } };
    const annotated = models.map((m) => ({ ...m, withoutTeaching: context?.withoutTeaching?.get(m.clusterIndex) }));
    const result = await runner(annotated, spec, pool, ml, deriveSeed(seed, 1, round), now);
    const t2 = now();
    const screens = result.screens;
    return {
      teachers: screens.map((x, k) => ({ clusterIndex: (models[k] as ClusterModel).clusterIndex, learned: result.learned[k] as boolean, ...x })),
      models: models.map((m, k) => ({
        clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, memberIds: m.memberIds,
        weights: result.weights[k] as Float32Array,
      })),
      stats: {
        ...held,
        mutualLearningMs: t2 - t1,
        steps: result.stats.steps,
        klBefore: result.stats.meanKlBefore,
        klAfter: result.stats.meanKlAfter,
        meanCe: result.stats.meanCe,
        // The teacher screen's figures per cluster (docs/robustness.md): what the thresholds are measured against.
        teachersExcluded: screens.filter((x) => !x.teaches).length,
        ...Object.fromEntries(screens.flatMap((x, k) => {
          const c = (models[k] as ClusterModel).clusterIndex;
          return [[`teacherSkill_c${c}`, x.skill], [`teacherLossRatio_c${c}`, x.lossRatio], [`teacherMaxAbsLogit_c${c}`, x.maxAbsLogit]];
        })),
      },
    };
  };
}
