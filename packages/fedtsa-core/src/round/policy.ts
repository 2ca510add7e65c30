/**
 * The round's safeguards in one object (docs/robustness.md has the measurements behind each
 * default): the norm and direction screen of a cluster's updates, the caps on Stage 1's
 * averaging weights, and the limits on how far a step may move a cluster model. The
 * simulation and the coordinator run the same round with the same policy; the coordinator's
 * run settings carry these fields under the same names.
 */
import { validateChangeLimits, type ChangeLimits } from '../screening/invariants.ts';
import { validateWeightCaps, type WeightCaps } from '../screening/averaging-weights.ts';
import { DEFAULT_SCREEN_SETTINGS, validateScreenSettings, type ScreenSettings } from '../screening/update-screen.ts';

export type RoundPolicy = ScreenSettings & WeightCaps & ChangeLimits;

export const DEFAULT_ROUND_POLICY: Readonly<RoundPolicy> = {
  ...DEFAULT_SCREEN_SETTINGS,
  claimMultiple: 3,
  maxClientShare: 0.5,
  changeMultiple: 10,
  firstChangeOfNorm: 1,
  changeFloorOfNorm: 1,
};

export function validateRoundPolicy(p: RoundPolicy, fn: string): void {
  validateScreenSettings(p, fn);
  validateWeightCaps(p, fn);
  validateChangeLimits(p, fn);
}

/** The policy's fields picked out of a larger settings object (the coordinator's run settings). */
export function roundPolicyOf(s: RoundPolicy): RoundPolicy {
  return {
    normMultiple: s.normMultiple, minCosine: s.minCosine, minConsensus: s.minConsensus, claimMultiple: s.claimMultiple, maxClientShare: s.maxClientShare,
    changeMultiple: s.changeMultiple, firstChangeOfNorm: s.firstChangeOfNorm, changeFloorOfNorm: s.changeFloorOfNorm,
  };
}
