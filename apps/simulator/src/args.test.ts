import { describe, expect, it } from 'vitest';
import { parseCli } from './args.ts';

describe('parseCli --strategy', () => {
  it('takes a comma list and runs those strategies only, without the centralised bound', () => {
    const { config } = parseCli(['--preset', 'small', '--strategy', 'fedtsa-stage1,fedtsa']);
    expect(config.strategies).toEqual(['fedtsa-stage1', 'fedtsa']);
    expect(config.centralised).toBe(false);
  });

  it('refuses an unknown or repeated name', () => {
    expect(() => parseCli(['--strategy', 'fedtsa,fedprox'])).toThrow(/unknown --strategy 'fedprox'/);
    expect(() => parseCli(['--strategy', 'fedtsa,fedtsa'])).toThrow(/twice/);
  });
});

describe('parseCli --feddf-data', () => {
  it('takes synthetic or public, and refuses anything else', () => {
    expect(parseCli(['--strategy', 'feddf']).config.feddfData).toBeUndefined();
    expect(parseCli(['--strategy', 'feddf', '--feddf-data', 'public']).config.feddfData).toBe('public');
    expect(() => parseCli(['--feddf-data', 'labelled'])).toThrow(/--feddf-data must be synthetic or public/);
  });
});

describe('parseCli --strategy centralised', () => {
  it('runs the upper bound alone, or beside the strategies named', () => {
    const alone = parseCli(['--preset', 'default', '--strategy', 'centralised']).config;
    expect(alone.strategies).toEqual([]);
    expect(alone.centralised).toBe(true);
    const both = parseCli(['--preset', 'default', '--strategy', 'fjord,centralised']).config;
    expect(both.strategies).toEqual(['fjord']);
    expect(both.centralised).toBe(true);
    expect(parseCli(['--preset', 'default', '--strategy', 'fjord']).config.centralised).toBe(false);
  });
});

describe('parseCli --strategy fedrolex,fjord', () => {
  it('accepts the new baselines', () => {
    expect(parseCli(['--strategy', 'fedrolex,fjord']).config.strategies).toEqual(['fedrolex', 'fjord']);
  });
});

describe('parseCli simulated clock', () => {
  it('leaves the defaults unless asked, and overrides bandwidth per tier and the deadline', () => {
    expect(parseCli(['--preset', 'small']).config.wallClock).toBeUndefined();
    const clock = parseCli(['--bandwidth', 'phone=2e5', '--deadline-sec', '5']).config.wallClock!;
    expect(clock.bandwidthBytesPerSec).toEqual({ phone: 2e5, laptop: 1e7, desktop: 1e7 });
    expect(clock.roundDeadlineSec).toBe(5);
    expect(clock.bytesPerWeight).toBe(4);
    expect(() => parseCli(['--deadline-sec', '0'])).toThrow(/--deadline-sec must be positive/);
    expect(() => parseCli(['--bandwidth', 'phone'])).toThrow(/--bandwidth/);
  });
});

describe('parseCli --heterofl', () => {
  it('picks a variant of heterofl\'s local training; none given leaves the strategy\'s default (plain)', () => {
    expect(parseCli(['--preset', 'small']).config.heterofl).toBeUndefined();
    expect(parseCli(['--preset', 'small', '--heterofl', 'published']).config.heterofl).toEqual({ scaler: true, maskedLoss: true });
    expect(parseCli(['--preset', 'small', '--heterofl', 'mask']).config.heterofl).toEqual({ scaler: false, maskedLoss: true });
    expect(() => parseCli(['--heterofl', 'scaled'])).toThrow(/--heterofl must be one of plain, mask, scaler, published, got 'scaled'/);
  });
});

describe('parseCli --overlap', () => {
  it('is off by default, on with on, and refuses anything else', () => {
    expect(parseCli(['--preset', 'small']).config.stage2.overlap).toBe(false);
    expect(parseCli(['--preset', 'small', '--overlap', 'on']).config.stage2.overlap).toBe(true);
    expect(parseCli(['--preset', 'small', '--overlap', 'off']).config.stage2.overlap).toBe(false);
    expect(() => parseCli(['--overlap', 'yes'])).toThrow(/--overlap must be on or off/);
  });
});

describe('parseCli --ml-widest-learns', () => {
  it('sets mutual learning\'s widestLearns and refuses anything but on or off', () => {
    expect(parseCli(['--preset', 'small']).config.stage2.mutualLearning.widestLearns).toBeUndefined();
    expect(parseCli(['--preset', 'small', '--ml-widest-learns', 'off']).config.stage2.mutualLearning.widestLearns).toBe(false);
    expect(() => parseCli(['--ml-widest-learns', 'no'])).toThrow(/--ml-widest-learns must be on or off/);
  });
});

describe('parseCli round policy', () => {
  it('leaves the policy at the core default unless asked, sets each screen and limit flag, and refuses values out of range', () => {
    expect(parseCli(['--preset', 'small']).config.policy).toBeUndefined();
    const policy = parseCli(['--min-cosine=-1', '--min-consensus=-1', '--change-floor', '0']).config.policy!;
    expect([policy.minCosine, policy.minConsensus, policy.changeFloorOfNorm]).toEqual([-1, -1, 0]);
    expect(policy.changeMultiple).toBe(10);
    expect(() => parseCli(['--min-consensus', '2'])).toThrow(/minConsensus must be in \[-1, 1\]/);
    expect(() => parseCli(['--change-floor=-1'])).toThrow(/changeFloorOfNorm must be >= 0/);
  });
});
