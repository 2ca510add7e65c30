/**
 * Who may teach in Stage 2. Every cluster model's logits enter every other model's
 * mutual-learning target, so one poisoned model (even one made by two fake clients that form a
 * cluster of their own) would reach them all. Before mutual learning each model is screened on
 * the labelled synthetic pool; it teaches only if
 *   - its weights are finite,
 *   - its largest |logit| on the pool is at most `maxAbsLogit` (a model scaled by 1e3 has
 *     logits near 1e12; honest ones stay in the tens), and
 *   - it knows something: its skill on the pool, (accuracy - chance) / (1 - chance) with
 *     chance = 1 / classes, is at least `minSkill` (or, when `maxLossRatio` > 0, its mean
 *     cross-entropy on the pool is at most `maxLossRatio` x ln(classes), a uniform guess's).
 *     Honest models still near their initialisation sit at chance in the first rounds and do
 *     not teach then: their near-uniform logits had nothing to give.
 * A model that fails still learns from the teachers (unless its weights are not finite: then
 * it is left out entirely and the round's invariants roll it back). A model learns only when
 * some teacher other than itself exists, so with one teacher left Stage 2 changes nothing, as
 * with one cluster.
 *
 * Thresholds (docs/robustness.md has the measurements behind them): honest cluster models on
 * the validation preset and in 2-member coordinator clusters from round 1 on stayed far inside both.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainingPool } from './synthetic-pool.ts';

export interface TeacherRule {
  /** Largest |logit| a teacher may produce on the pool (default 100). */
  maxAbsLogit: number;
  /** Skill over chance that makes a model a teacher, in [0, 1) (default 0.05)... */
  minSkill: number;
  /**
   * ...or a mean pool cross-entropy at most this multiple of ln(classes): "does no harm". Default 0,
   * never: a cluster of sign-flipping fakes also sits near chance with a near-uniform loss, and
   * taught the honest clusters through this arm in the poisoning drill (the slow tier lost a point).
   */
  maxLossRatio: number;
}

export const DEFAULT_TEACHER_RULE: Readonly<TeacherRule> = { maxAbsLogit: 100, minSkill: 0.05, maxLossRatio: 0 };

export interface TeacherScreen {
  finite: boolean;
  /** NaN when the weights are not finite (the model is not run). */
  maxAbsLogit: number;
  poolAccuracy: number;
  skill: number;
  /** Mean cross-entropy on the pool over ln(classes); NaN when not finite. */
  lossRatio: number;
  teaches: boolean;
  /** Why it does not teach, in plain words (absent when it teaches). */
  reason?: string;
}

export function validateTeacherRule(rule: TeacherRule, fn: string): void {
  if (!(Number.isFinite(rule.maxAbsLogit) && rule.maxAbsLogit > 0)) throw new Error(`${fn}: maxAbsLogit must be > 0, got ${rule.maxAbsLogit}`);
  if (!(Number.isFinite(rule.minSkill) && rule.minSkill >= 0 && rule.minSkill < 1)) throw new Error(`${fn}: minSkill must be in [0, 1), got ${rule.minSkill}`);
  if (!(Number.isFinite(rule.maxLossRatio) && rule.maxLossRatio >= 0)) throw new Error(`${fn}: maxLossRatio must be >= 0, got ${rule.maxLossRatio}`);
}

export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) return false;
  return true;
}

/** Rows of the pool per forward pass: bounds memory on large pools. */
const SCREEN_BATCH = 256;

/** One model's figures over some rows of the pool; scores of disjoint rows merge by mergePoolScores. */
export interface PoolScore {
  maxAbsLogit: number;
  correct: number;
  /** Cross-entropy summed over the rows. */
  lossSum: number;
  count: number;
}

/** Scores `model` on the pool's rows [start, end) (default: all of them), SCREEN_BATCH rows per forward pass. */
export function scorePoolRows(model: tfl.LayersModel, pool: Pick<TrainingPool, 'batch' | 'data'>, start = 0, end = pool.data.count): PoolScore {
  let maxAbs = 0;
  let correct = 0;
  let lossSum = 0;
  for (let lo = start; lo < end; lo += SCREEN_BATCH) {
    const rows = Array.from({ length: Math.min(SCREEN_BATCH, end - lo) }, (_, i) => lo + i);
    const { x, y } = pool.batch(rows);
    try {
      const stats = tf.tidy(() => {
        const z = model.apply(x, { training: false }) as tf.Tensor2D; // [b, classes]
        // A non-finite logit counts as unbounded.
        const bad = tf.logicalNot(tf.isFinite(z)).any();
        const maxAbs = tf.where(bad, tf.scalar(Infinity), tf.abs(z).max());
        const ce = tf.sum(tf.mul(y, tf.neg(tf.logSoftmax(z)))); // summed over the batch
        return tf.stack([maxAbs, tf.equal(tf.argMax(z, 1), tf.argMax(y, 1)).sum().toFloat(), ce]);
      });
      const [m, c, l] = Array.from(stats.dataSync());
      stats.dispose();
      maxAbs = Math.max(maxAbs, m as number);
      correct += c as number;
      lossSum += l as number;
    } finally {
      tf.dispose([x, y]);
    }
  }
  return { maxAbsLogit: maxAbs, correct, lossSum, count: Math.max(0, end - start) };
}

/** Scores of disjoint row ranges as one: max, sums (the loss sum up to float order). */
export function mergePoolScores(scores: readonly PoolScore[]): PoolScore {
  return scores.reduce((a, b) => ({ maxAbsLogit: Math.max(a.maxAbsLogit, b.maxAbsLogit), correct: a.correct + b.correct, lossSum: a.lossSum + b.lossSum, count: a.count + b.count }),
    { maxAbsLogit: 0, correct: 0, lossSum: 0, count: 0 });
}

/**
 * Screens each model (same order as `models`); `weights[k]` are model k's flat weights.
 * `rule` null measures without excluding anyone (every finite-or-not model teaches): the
 * behaviour before the rule, for paired comparisons and for measuring honest models.
 */
export function screenTeachers(models: readonly tfl.LayersModel[], weights: readonly Float32Array[], pool: TrainingPool, rule: TeacherRule | null): TeacherScreen[] {
  if (rule) validateTeacherRule(rule, 'screenTeachers');
  const scores = models.map((model, k) => (allFinite(weights[k] as Float32Array) ? scorePoolRows(model, pool) : null));
  return screensFromScores(scores, pool.numClasses, rule);
}

/** The screens from each model's score over the whole pool; null for a model whose weights are not finite (it was not run). */
export function screensFromScores(scores: readonly (PoolScore | null)[], numClasses: number, rule: TeacherRule | null): TeacherScreen[] {
  const chance = 1 / numClasses;
  const uniformLoss = Math.log(numClasses);
  return scores.map((score) => {
    if (!score) {
      return { finite: false, maxAbsLogit: NaN, poolAccuracy: NaN, skill: NaN, lossRatio: NaN, teaches: !rule, ...(rule ? { reason: 'its weights are not finite' } : {}) };
    }
    const n = Math.max(1, score.count);
    const { maxAbsLogit } = score;
    const accuracy = score.correct / n;
    const skill = (accuracy - chance) / (1 - chance);
    const lossRatio = score.lossSum / n / uniformLoss;
    const reasons: string[] = [];
    if (rule && !(maxAbsLogit <= rule.maxAbsLogit)) reasons.push(`its largest |logit| on the synthetic pool is ${maxAbsLogit.toPrecision(3)} > ${rule.maxAbsLogit}`);
    if (rule && !(skill >= rule.minSkill || lossRatio <= rule.maxLossRatio)) {
      reasons.push(`on the synthetic pool its accuracy is ${(100 * accuracy).toFixed(1)}% (skill ${skill.toFixed(3)} < ${rule.minSkill}) and its loss ${lossRatio.toFixed(2)} x a uniform guess's (> ${rule.maxLossRatio})`);
    }
    return { finite: true, maxAbsLogit, poolAccuracy: accuracy, skill, lossRatio, teaches: reasons.length === 0, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
  });
}

/** Which models learn: finite ones for which a teacher other than themselves exists. */
export function learnersOf(screens: readonly TeacherScreen[]): boolean[] {
  return screens.map((s, k) => s.finite && screens.some((t, j) => j !== k && t.teaches));
}
