/**
 * Invariants of a round's result, checked for every cluster after Stage 1 and after the server
 * step (Stage 2), before anything is saved:
 *   - the model is finite;
 *   - its distance from the round's starting model is at most `changeMultiple` x the cluster's
 *     typical round-to-round change (the median of its last recorded changes at this width), or,
 *     with no record yet (a cluster's first round, or its width changed), `firstChangeOfNorm` x
 *     the norm of its starting model; but never less than `changeFloorOfNorm` x that norm.
 * A step that breaks one is rolled back: after Stage 1 the cluster keeps its starting model,
 * after Stage 2 its Stage 1 result. Honest rounds (docs/robustness.md) stay far inside: round 1
 * moves a model by a fraction of its norm, later rounds by about their predecessors' change.
 *
 * Why the floor: without it a model that starts slowly is frozen: measured (uniform widths, IID, seed 2), three width-1/4 models
 * moved 2-17% of their norm a round for four rounds, then, taking off, 41-69%, above 10 x the
 * plateau's median; each was rolled back, a rolled-back round records no change, so the
 * reference stayed at the plateau and every later round was refused (48 rollbacks, frozen at
 * 33-41%, against 80.0% without safeguards). A scaled model (x 1e3: 999 x its norm) or a
 * flipped one (2 x) is still refused; the floor only stops the reference from shrinking below
 * what a first round may do.
 */
import { allFinite } from '../stage2/teachers.ts';
import { l2Distance, l2Norm, median } from './update-screen.ts';

export interface ChangeLimits {
  /** Default 10. */
  changeMultiple: number;
  /** Default 1. */
  firstChangeOfNorm: number;
  /** The limit is at least this multiple of the starting norm (default 1; 0 = no floor, as before issue 18). */
  changeFloorOfNorm: number;
}

/** Recorded changes that form a cluster's reference (the most recent ones). */
export const CHANGE_HISTORY = 5;

export interface ChangeLimit {
  /** Largest allowed distance from the round's starting model. */
  maxChange: number;
  basis: 'typical-change' | 'start-norm';
  /** The median change or the starting norm the limit is a multiple of. */
  reference: number;
}

export function validateChangeLimits(l: ChangeLimits, fn: string): void {
  if (!(Number.isFinite(l.changeMultiple) && l.changeMultiple > 1)) throw new Error(`${fn}: changeMultiple must be > 1, got ${l.changeMultiple}`);
  if (!(Number.isFinite(l.firstChangeOfNorm) && l.firstChangeOfNorm > 0)) throw new Error(`${fn}: firstChangeOfNorm must be > 0, got ${l.firstChangeOfNorm}`);
  if (!(Number.isFinite(l.changeFloorOfNorm) && l.changeFloorOfNorm >= 0)) throw new Error(`${fn}: changeFloorOfNorm must be >= 0, got ${l.changeFloorOfNorm}`);
}

/** The limit for one cluster: `history` are its recorded changes at its current width, oldest first. */
export function changeLimit(start: Float32Array, history: readonly number[], limits: ChangeLimits): ChangeLimit {
  validateChangeLimits(limits, 'changeLimit');
  const recent = history.filter((x) => Number.isFinite(x) && x > 0).slice(-CHANGE_HISTORY);
  const typical = median(recent);
  const norm = l2Norm(start);
  if (typical === undefined) return { maxChange: limits.firstChangeOfNorm * norm, basis: 'start-norm', reference: norm };
  const byTypical = limits.changeMultiple * typical;
  const floor = limits.changeFloorOfNorm * norm;
  return byTypical >= floor ? { maxChange: byTypical, basis: 'typical-change', reference: typical } : { maxChange: floor, basis: 'start-norm', reference: norm };
}

export type StepCheck = { ok: true; change: number } | { ok: false; change: number; reason: string };

/** Whether `next` may replace `start` under `limit`. */
export function checkModelStep(start: Float32Array, next: Float32Array, limit: ChangeLimit): StepCheck {
  if (next.length !== start.length) return { ok: false, change: NaN, reason: `the model has ${next.length} values, its start ${start.length}` };
  if (!allFinite(next)) return { ok: false, change: NaN, reason: 'the model is not finite' };
  const change = l2Distance(start, next);
  if (change > limit.maxChange) {
    const of = limit.basis === 'typical-change' ? `its typical round-to-round change ${limit.reference.toExponential(3)}` : `its starting norm ${limit.reference.toExponential(3)}`;
    return { ok: false, change, reason: `the model moved ${change.toExponential(3)} from the round's start, more than the limit ${limit.maxChange.toExponential(3)} (a multiple of ${of})` };
  }
  return { ok: true, change };
}
