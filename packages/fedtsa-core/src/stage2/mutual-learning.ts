/**
 * Stage 2 of FedTSA: deep mutual learning across cluster models of different widths on
 * synthetic labelled data (FEDTSA.md section 6). Every model is pulled towards the mean of
 * all models' logits (the target carries no gradient) and, optionally, towards the
 * generator's class label. Leak-free: tf.memory().numTensors is unchanged across calls.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelManifest, parameterCount, type ModelSpec } from '../architecture.ts';
import { buildModel, getFlatWeights, setFlatWeights } from '../model.ts';
import { createRng, type Rng } from '../rng.ts';
import { createOptimizer, disposeOptimizer } from '../train.ts';
import { chooseSlots } from './pool-plan.ts';
import type { TrainingPool } from './synthetic-pool.ts';
import { applyMutualLearningGradients, klFromTarget, mutualLearningGradients, targetLogProbOf, type StepRoles } from './mutual-learning-gradients.ts';
import { DEFAULT_TEACHER_RULE, learnersOf, screenTeachers, validateTeacherRule, type TeacherRule, type TeacherScreen } from './teachers.ts';

/**
 * Defaults chosen on the validation split (seed 1, default preset, the 95% generator; every
 * run is in results/stage2-tuning): SGD with momentum at 3e-3, 50 steps, T 3, lambda 0.5
 * scored 81.2% against 79.8% for Stage 1 alone. Adam at 1e-3 hurt (78.5%); SGD at 1e-2
 * scored 81.6% but diverged for the width-1 model with lambda 1 (10.3%), so the safer 3e-3.
 */
export interface MutualLearningOptions {
  /** Softmax temperature T of the KL term (default 3). Larger T transfers more "dark knowledge". */
  temperature: number;
  /** Weight of the cross-entropy against the generator's label (default 0.5); 0 = pure DML (79.8%), 1: 80.9%. */
  lambda: number;
  /** Batches per Stage 2 call (default 50). */
  steps: number;
  /** Samples per batch, drawn from the pool without replacement (default 64). */
  batchSize: number;
  /** Fresh state at every call, like local training (default 'sgd', with momentum 0.9). */
  optimizer: 'adam' | 'sgd';
  /** Default 3e-3. */
  learningRate: number;
  /** Who may teach (teachers.ts); null = every model teaches and learns, as before the rule (for the paired comparison). */
  teacherRule: TeacherRule | null;
  /**
   * Whether the widest model(s) learn too (default true: mutual learning as in FEDTSA.md). false
   * makes them teachers only, when a narrower model exists: 0.39 of the CPU time per step for
   * widths 1 and 1/2, 0.58 for 1, 1/2, 1/4 (wasm, batch 64). Changes learning: to be measured.
   */
  widestLearns: boolean;
}

export const DEFAULT_MUTUAL_LEARNING_OPTIONS: Readonly<MutualLearningOptions> = {
  temperature: 3, lambda: 0.5, steps: 50, batchSize: 64, optimizer: 'sgd', learningRate: 3e-3, teacherRule: DEFAULT_TEACHER_RULE,
  widestLearns: true,
};

/** Fills in defaults and rejects values that would silently train nothing or diverge. */
export function resolveMutualLearningOptions(partial: Partial<MutualLearningOptions> = {}, fn = 'resolveMutualLearningOptions'): MutualLearningOptions {
  const o = { ...DEFAULT_MUTUAL_LEARNING_OPTIONS, ...partial };
  if (!(Number.isFinite(o.temperature) && o.temperature > 0)) throw new Error(`${fn}: temperature must be > 0, got ${o.temperature}`);
  if (!(Number.isFinite(o.lambda) && o.lambda >= 0)) throw new Error(`${fn}: lambda must be >= 0, got ${o.lambda}`);
  if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new Error(`${fn}: steps must be a non-negative integer, got ${o.steps}`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new Error(`${fn}: batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.optimizer !== 'adam' && o.optimizer !== 'sgd') throw new Error(`${fn}: unknown optimizer '${String(o.optimizer)}'`);
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0)) throw new Error(`${fn}: learningRate must be > 0, got ${o.learningRate}`);
  if (o.teacherRule !== null) validateTeacherRule(o.teacherRule, fn);
  if (typeof o.widestLearns !== 'boolean') throw new Error(`${fn}: widestLearns must be true or false, got ${String(o.widestLearns)}`);
  return o;
}

/**
 * Each model's KL to the mean of the teachers' logits on `x` [b,h,w,c], at temperature T.
 * `teaches[k]` (default: every model) says whose logits enter the mean.
 */
export function klToMean(models: readonly tfl.LayersModel[], x: tf.Tensor4D, temperature: number, teaches?: readonly boolean[]): number[] {
  if (models.length === 0) throw new Error('klToMean: need at least one model');
  if (!(temperature > 0)) throw new Error(`klToMean: temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    const logits = models.map((m) => m.apply(x, { training: false }) as tf.Tensor2D);
    const logProb = targetLogProbOf(teaches ? logits.filter((_, k) => teaches[k]) : logits, temperature);
    const prob = tf.exp(logProb) as tf.Tensor2D;
    return Array.from(tf.stack(logits.map((z) => klFromTarget(prob, logProb, z, temperature))).dataSync());
  });
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * One batch of mutual learning. x [b,h,w,c], yOneHot [b,classes]. All models see the same
 * target, computed from the pre-update logits, so the update order does not matter.
 * `roles` (default: everyone teaches and learns) says whose logits enter the target and who is
 * updated. Returns each model's KL (unscaled, at T) and cross-entropy measured before its update.
 * One forward pass per model (mutual-learning-gradients.ts): 80.1 ms against 86.6 ms for the
 * earlier two-pass step (widths 1 and 1/2, batch 64, wasm, one core), the same weights up to
 * float rounding (outside a gradient tape tfjs fuses conv + bias + relu).
 */
export function mutualLearningStep(
  models: readonly tfl.LayersModel[], optimizers: readonly tf.Optimizer[], x: tf.Tensor4D, yOneHot: tf.Tensor2D,
  opts: { temperature: number; lambda: number }, roles?: StepRoles,
): { klPerModel: number[]; cePerModel: number[] } {
  const fn = 'mutualLearningStep';
  if (models.length !== optimizers.length) throw new Error(`${fn}: ${models.length} models but ${optimizers.length} optimizers`);
  const { grads, klPerModel, cePerModel } = mutualLearningGradients(models, x, yOneHot, opts, roles, fn);
  applyMutualLearningGradients(models, optimizers, grads);
  return { klPerModel, cePerModel };
}

export interface ClusterModelWeights {
  widthRatio: number;
  /** Flat weights in modelManifest(spec, widthRatio) order. */
  weights: Float32Array;
  /** Set when the caller knows this model must not teach this round (the reason); with the rule on it still learns. */
  withoutTeaching?: string;
  /**
   * A fixed part, whatever the rule says: 'teaches-only' is a frozen teacher (never updated;
   * FedDF's ensemble members), 'learns-only' a student whose logits never enter the target
   * (FedDF's fused models). Absent: the rule and widestLearns decide.
   */
  role?: 'teaches-only' | 'learns-only';
}

export interface MutualLearningResult {
  /** New flat weights, one per input model, same order and lengths. */
  weights: Float32Array[];
  stats: {
    steps: number;
    /** Mean over models of klToMean at the training temperature, on one fixed pool batch. */
    meanKlBefore: number;
    meanKlAfter: number;
    /** Mean over steps and learning models of the label cross-entropy, NaN when steps = 0 or nobody learns. */
    meanCe: number;
    ms: number;
  };
  /** Per model: its screen as a teacher (with the rule off: measured, everyone teaches). */
  screens: TeacherScreen[];
  /** Per model: whether mutual learning updated it. */
  learned: boolean[];
}

/** Checks a run's inputs against each other, naming `fn`; returns the resolved options. */
export function checkMutualLearningInputs(
  models: readonly ClusterModelWeights[], spec: ModelSpec, pool: TrainingPool, opts: Partial<MutualLearningOptions>, fn: string,
): MutualLearningOptions {
  const o = resolveMutualLearningOptions(opts, fn);
  if (models.length === 0) throw new Error(`${fn}: need at least one model`);
  const [h, w, c] = spec.inputShape;
  const data = pool.data;
  if (data.height !== h || data.width !== w || data.channels !== c || data.numClasses !== spec.numClasses) {
    throw new Error(`${fn}: pool is ${data.height}x${data.width}x${data.channels}/${data.numClasses} classes, spec is ${h}x${w}x${c}/${spec.numClasses}`);
  }
  for (const [k, m] of models.entries()) {
    const expected = parameterCount(modelManifest(spec, m.widthRatio));
    if (m.weights.length !== expected) throw new Error(`${fn}: model ${k} (width ${m.widthRatio}) has ${m.weights.length} weights, expected ${expected}`);
  }
  return o;
}

/**
 * Adds the callers' withoutTeaching notes to the screens and decides who teaches and who learns
 * (`rule` null: everyone; `widestLearns` false: not the widest models, when a narrower one exists).
 */
export function assignRoles(raw: readonly TeacherScreen[], models: readonly ClusterModelWeights[], rule: TeacherRule | null, widestLearns = true): {
  screens: TeacherScreen[]; teaches: boolean[]; learns: boolean[]; roles: StepRoles | undefined; active: boolean[];
} {
  const screens = raw.map((x, k) => {
    const why = (models[k] as ClusterModelWeights).withoutTeaching;
    return rule && why !== undefined ? { ...x, teaches: false, reason: x.reason ? `${why}; ${x.reason}` : why } : x;
  });
  const teaches = screens.map((x) => x.teaches);
  const widest = Math.max(...models.map((m) => m.widthRatio));
  const narrowest = Math.min(...models.map((m) => m.widthRatio));
  const mayLearn = (k: number) => widestLearns || widest === narrowest || (models[k] as ClusterModelWeights).widthRatio < widest;
  const learns = (rule ? learnersOf(screens) : models.map(() => true)).map((l, k) => l && mayLearn(k));
  const fixed = models.map((m) => m.role);
  fixed.forEach((role, k) => {
    if (role === 'teaches-only') learns[k] = false;
    if (role === 'learns-only') teaches[k] = false;
  });
  const explicit = fixed.some((r) => r !== undefined);
  // `active`: the models that take part (teach or learn), over which the KL statistics are averaged.
  return { screens, teaches, learns, roles: rule || !widestLearns || explicit ? { teaches, learns } : undefined, active: models.map((_, k) => teaches[k] || learns[k]) };
}

/**
 * `k` distinct rows of `n` in random order: the draws SyntheticPool.sampleBatch makes (pool-plan's
 * chooseSlots), as rows, so that a runner that builds its batches elsewhere (worker threads) sees the same ones.
 */
export function sampleRows(rng: Rng, n: number, k: number): number[] {
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`sampleRows: k must be an integer in [1, ${n}], got ${k}`);
  return chooseSlots(rng, n, k);
}

/** How Stage 2 runs mutual learning: runMutualLearning on one thread, or node-io's parallel-mutual-learning on worker threads. */
export type MutualLearningRunner = (
  models: readonly ClusterModelWeights[], spec: ModelSpec, pool: TrainingPool, opts: Partial<MutualLearningOptions>, seed: number, now?: () => number,
) => Promise<MutualLearningResult>;

/**
 * Runs `steps` mutual-learning batches over the pool on tfjs models rebuilt from flat
 * weights, and returns the new flat weights. Everything it allocates is disposed, also on error.
 * `now` is injected because fedtsa-core has no clock of its own beyond Date.
 */
export async function runMutualLearning(
  models: readonly ClusterModelWeights[], spec: ModelSpec, pool: TrainingPool, opts: Partial<MutualLearningOptions>, seed: number,
  now: () => number = () => Date.now(),
): Promise<MutualLearningResult> {
  const o = checkMutualLearningInputs(models, spec, pool, opts, 'runMutualLearning');
  const t0 = now();
  const rng = createRng(seed);
  const batchSize = Math.min(o.batchSize, pool.data.count);
  const tfModels: tfl.LayersModel[] = [];
  const optimizers: tf.Optimizer[] = [];
  const probe = pool.batch(sampleRows(rng, pool.data.count, batchSize));
  try {
    for (const m of models) {
      const model = buildModel(spec, m.widthRatio);
      tfModels.push(model);
      setFlatWeights(model, m.weights, modelManifest(spec, m.widthRatio));
      optimizers.push(createOptimizer(o.optimizer, o.learningRate));
    }
    // Measured with the rule off too (it changes nothing then), so honest models' figures can be read off any run.
    const { screens, teaches, learns, roles, active } = assignRoles(screenTeachers(tfModels, models.map((m) => m.weights), pool, o.teacherRule), models, o.teacherRule, o.widestLearns);
    // KL to the teachers' mean, over the models that take part.
    const klOf = () => mean(klToMean(tfModels, probe.x, o.temperature, teaches).filter((_, k) => active[k]));
    if (!learns.some(Boolean)) {
      return {
        weights: models.map((m) => m.weights.slice()), screens, learned: learns,
        stats: { steps: 0, meanKlBefore: NaN, meanKlAfter: NaN, meanCe: NaN, ms: now() - t0 },
      };
    }
    const meanKlBefore = klOf();
    let ceSum = 0;
    for (let step = 0; step < o.steps; step++) {
      const { x, y } = pool.batch(sampleRows(rng, pool.data.count, batchSize));
      try {
        ceSum += mean(mutualLearningStep(tfModels, optimizers, x, y, o, roles).cePerModel.filter((_, k) => learns[k]));
      } finally {
        tf.dispose([x, y]);
      }
      // Lets a coordinator answer its sockets between batches (setImmediate in Node).
      await tf.nextFrame();
    }
    const meanKlAfter = klOf();
    return {
      // A model that did not learn keeps its exact weights (a non-finite one is never run through the optimizer).
      weights: tfModels.map((m, k) => (learns[k] ? getFlatWeights(m) : (models[k] as ClusterModelWeights).weights.slice())),
      screens, learned: learns,
      stats: { steps: o.steps, meanKlBefore, meanKlAfter, meanCe: o.steps > 0 ? ceSum / o.steps : NaN, ms: now() - t0 },
    };
  } finally {
    tf.dispose([probe.x, probe.y]);
    for (const m of tfModels) m.dispose();
    for (const opt of optimizers) disposeOptimizer(opt);
  }
}
