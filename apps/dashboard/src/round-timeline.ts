/**
 * The round timeline's figures: seconds per round of the clients' phase, the close's wait for
 * the synthetic pool, Stage 1, and Stage 2
 * split into generation (reading or drawing the synthetic pool inside the close) and mutual
 * learning, from the round records (stage2Stats.generationMs, mutualLearningMs); and a note of
 * the pool each round's Stage 2 had, for the tooltip.
 */
import type { RoundSummary } from '@fedtsa/protocol/dashboard';

export interface TimelineSeries {
  clients: number[];
  /** The close waiting for the round's pool (server-work.ts, at most its poolWaitMs). */
  poolWait: number[];
  stage1: number[];
  generation: number[];
  mutualLearning: number[];
  /** What of Stage 2 is neither (the teacher screen, the invariants around it). */
  stage2Other: number[];
}

const sec = (ms: number) => Math.max(0, ms) / 1000;

export function timelineSeries(rounds: readonly RoundSummary[]): TimelineSeries {
  const generation = rounds.map((r) => Math.min(r.stage2Ms, r.stage2Stats.generationMs ?? 0));
  const mutualLearning = rounds.map((r, i) => Math.min(r.stage2Ms - (generation[i] as number), r.stage2Stats.mutualLearningMs ?? 0));
  const poolWait = rounds.map((r) => r.stage2Stats.poolWaitMs ?? 0);
  return {
    clients: rounds.map((r, i) => sec(r.closedAt - r.startedAt - r.stage1Ms - r.stage2Ms - (poolWait[i] as number))),
    poolWait: poolWait.map(sec),
    stage1: rounds.map((r) => sec(r.stage1Ms)),
    generation: generation.map(sec),
    mutualLearning: mutualLearning.map(sec),
    stage2Other: rounds.map((r, i) => sec(r.stage2Ms - (generation[i] as number) - (mutualLearning[i] as number))),
  };
}

/** The pool a round's Stage 2 had: '' when it held the whole pool of its round, or the round predates the figures. */
export function poolNote(round: RoundSummary): string {
  const { poolReady, poolSize, poolRound, stage2Skipped } = round.stage2Stats;
  if (poolReady === undefined || poolSize === undefined) return '';
  if (stage2Skipped) return `Stage 2 skipped: ${poolReady} of ${poolSize} pool images made`;
  if (poolReady < poolSize) return `Stage 2 on ${poolReady} of ${poolSize} pool images (the rest not made yet)`;
  if (poolRound !== undefined && poolRound < round.round) return `Stage 2 on the pool of round ${poolRound} (this round's refresh not made yet)`;
  return '';
}
