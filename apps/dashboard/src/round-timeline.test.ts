import { describe, expect, it } from 'vitest';
import type { RoundSummary } from '@fedtsa/protocol/dashboard';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import { describePool } from './pool-view.ts';
import { poolNote, timelineSeries } from './round-timeline.ts';

const round = (over: Partial<RoundSummary>): RoundSummary => ({
  round: 1, startedAt: 0, closedAt: 10_000, stage1Ms: 500, stage2Ms: 3000, stage2Stats: {}, participants: 4, updatesAccepted: 4, updatesRefused: 0,
  clusters: [], meanAccuracy: 0.5, ...over,
});

describe('timelineSeries', () => {
  it('splits Stage 2 into generation, mutual learning and the rest, and the wait for the pool from the clients, in seconds', () => {
    const s = timelineSeries([
      round({ stage2Stats: { generationMs: 1000, mutualLearningMs: 1500, poolWaitMs: 2000 } }),
      // Saved before the split existed: all of Stage 2 is 'other'.
      round({ round: 2, stage2Ms: 2000 }),
    ]);
    expect(s).toEqual({ clients: [4.5, 7.5], poolWait: [2, 0], stage1: [0.5, 0.5], generation: [1, 0], mutualLearning: [1.5, 0], stage2Other: [0.5, 2] });
  });
});

describe('poolNote', () => {
  it('says when a round ran Stage 2 on less than its pool, or skipped it', () => {
    expect(poolNote(round({ stage2Stats: { poolReady: 25, poolSize: 300, poolRound: 0, stage2Skipped: 1 } }))).toBe('Stage 2 skipped: 25 of 300 pool images made');
    expect(poolNote(round({ stage2Stats: { poolReady: 150, poolSize: 300, poolRound: 0 } }))).toBe('Stage 2 on 150 of 300 pool images (the rest not made yet)');
    expect(poolNote(round({ round: 5, stage2Stats: { poolReady: 300, poolSize: 300, poolRound: 4 } }))).toMatch(/pool of round 4/);
    expect(poolNote(round({ round: 5, stage2Stats: { poolReady: 300, poolSize: 300, poolRound: 5 } }))).toBe('');
    expect(poolNote(round({}))).toBe('');
  });
});

describe('describePool', () => {
  const p: PoolProgress = {
    state: 'generating', fillReady: 75, fillTarget: 300, imagesReady: 75, imagesTarget: 570, readyThroughRound: 0,
    imagesGenerated: 50, imagesReused: 25, imagesPerSec: 1.93,
  };
  it('reads the background generation for the run card', () => {
    expect(describePool(p, 10)).toBe('Synthetic pool: filling: 75 of 300 images made (25%), 1.9 images/s, 25 found in the store');
    expect(describePool({ ...p, fillReady: 300, imagesReady: 360, readyThroughRound: 3 }, 10)).toBe('Synthetic pool: filled; refreshes made through round 3 of 10, 1.9 images/s, 25 found in the store');
    expect(describePool({ ...p, state: 'ready', imagesReused: 0 }, 10)).toBe('Synthetic pool: ready, 570 images for all 10 rounds');
    expect(describePool({ ...p, state: 'ahead', fillReady: 300, readyThroughRound: 5 }, 10)).toMatch(/through round 5 of 10 \(as far ahead as it goes; more as rounds close\)/);
    expect(describePool({ ...p, state: 'failed', error: 'no generator checkpoint in /x' }, 10)).toMatch(/^Synthetic pool: generation failed \(no generator checkpoint in \/x\)/);
    expect(describePool(null, 10)).toBe('');
  });
});
