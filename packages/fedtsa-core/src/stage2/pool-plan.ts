/**
 * Which samples a synthetic pool draws at every round, as a pure function of its settings and
 * seed: the fill at the pool's first round, then ceil(fraction * size) slots per later round.
 * The pool (synthetic-pool.ts) follows it, and so does whoever makes the pool's chunks ahead of
 * time (the coordinator's generation worker), so both name the same chunks without talking.
 */
import { createRng, deriveSeed, randomInt, shuffleInPlace, type Rng } from '../rng.ts';
import { chunksOf, type Chunk } from './chunked-source.ts';

export interface PoolPlan {
  /** Samples kept in the pool. */
  size: number;
  /** Share of the pool regenerated at every round after the first, in [0, 1]. */
  refreshFraction: number;
  numClasses: number;
  /** The round whose seeds fill the pool. */
  firstRound: number;
  /** The pool's seed (Stage 2's: stage2.ts passes deriveSeed(stage2Seed(runSeed), 0)). */
  seed: number;
}

/** What one round draws: the slots it (re)writes, their labels, and the seed of the request. */
export interface PoolStep {
  round: number;
  slots: number[];
  /** [slots.length] */
  labels: Uint8Array;
  sourceSeed: number;
}

/** Samples a refresh after the fill regenerates. 0.1 * 30 is 3.0000000000000004 in floating point: a naive ceil would say 4. */
export function refreshCountOf(size: number, refreshFraction: number): number {
  return Math.ceil(refreshFraction * size - 1e-9);
}

/** Round `round`'s step: the fill at plan.firstRound (labels round-robin over classes, shuffled), a refresh of seeded slots after it. */
export function poolStep(plan: PoolPlan, round: number): PoolStep {
  if (!(Number.isInteger(round) && round >= plan.firstRound)) throw new Error(`poolStep: round must be an integer >= the pool's first round ${plan.firstRound}, got ${round}`);
  const rng = createRng(deriveSeed(plan.seed, round, 0));
  const sourceSeed = deriveSeed(plan.seed, round, 1);
  if (round === plan.firstRound) {
    const labels = Uint8Array.from(shuffleInPlace(rng, Array.from({ length: plan.size }, (_, i) => i % plan.numClasses)));
    return { round, slots: Array.from({ length: plan.size }, (_, i) => i), labels, sourceSeed };
  }
  const fill = poolStep(plan, plan.firstRound).labels;
  const slots = chooseSlots(rng, plan.size, refreshCountOf(plan.size, plan.refreshFraction));
  return { round, slots, labels: Uint8Array.from(slots, (s) => fill[s] as number), sourceSeed };
}

/** The chunks round `round` draws (chunked-source.ts's cut of its step). */
export function poolChunks(plan: PoolPlan, round: number): Chunk[] {
  const step = poolStep(plan, round);
  return step.slots.length === 0 ? [] : chunksOf(step.labels, step.sourceSeed);
}

/** `k` distinct indices in [0, n) in random order (partial Fisher-Yates). */
export function chooseSlots(rng: Rng, n: number, k: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(rng, n - i);
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order.slice(0, k);
}

/** The pool's seed for Stage 2's seed (stage2.ts's step refreshes its pool with it). */
export function stage2PoolSeed(stage2Seed: number): number {
  return deriveSeed(stage2Seed, 0);
}
