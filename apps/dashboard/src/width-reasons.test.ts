import { describe, expect, it } from 'vitest';
import { widthWhy } from './width-reasons.ts';

const reason = { clusterIndex: 0, slowEndSamplesPerSec: 40, roundBudgetSec: 1, samplesPerRound: 400 };

describe('widthWhy', () => {
  it('says whether the width fits, was raised for rank order, or is over budget at the narrowest rung', () => {
    expect(widthWhy({ ...reason, widthRatio: 0.25, estimatedSec: 0.625, fittingWidth: 0.25 })).toBe('fits the budget; width 0.5 would take 2.50 s');
    expect(widthWhy({ ...reason, widthRatio: 1, estimatedSec: 0.5, fittingWidth: 1 })).toBe('the full model fits the budget');
    expect(widthWhy({ ...reason, widthRatio: 1, estimatedSec: 10, fittingWidth: 0.25 })).toMatch(/^raised from 0.25: a faster cluster never gets a narrower model/);
    expect(widthWhy({ ...reason, widthRatio: 0.125, estimatedSec: 2, fittingWidth: 0.125 })).toBe('the narrowest width, and still over the budget');
  });
});
