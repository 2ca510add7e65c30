import { describe, expect, it } from 'vitest';
import { parseBandwidth, simulateRoundClock, type ClientWork, type WallClockOptions } from './wall-clock.ts';

// Hand-computed:
//   fast: 200 samples x 2 epochs x 0.5^2 / 1000 samples/s = 0.1 s training;
//         1000 weights x 4 bytes = 4000 bytes each way at 1e4 bytes/s = 0.4 s down, 0.4 s up -> 0.9 s.
//   slow: 300 x 2 x 1^2 / 100 = 6 s training; 4000 weights x 4 = 16000 bytes at 1e3 bytes/s = 16 s each way -> 38 s.
const fast: ClientWork = { clientId: 'fast', tier: 'laptop', samplesPerSec: 1000, numSamples: 200, epochs: 2, widthRatio: 0.5, weightsDown: 1000, weightsUp: 1000 };
const slow: ClientWork = { clientId: 'slow', tier: 'phone', samplesPerSec: 100, numSamples: 300, epochs: 2, widthRatio: 1, weightsDown: 4000, weightsUp: 4000 };
const options = (roundDeadlineSec: number): WallClockOptions => ({ bandwidthBytesPerSec: { laptop: 1e4, phone: 1e3 }, roundDeadlineSec, bytesPerWeight: 4 });
const server = { stage1Sec: 0.5, serverStepSec: 2 };

describe('simulated wall clock', () => {
  it('drops the late client, closes at the deadline and adds the server time', () => {
    const clock = simulateRoundClock([fast, slow], server, options(10));
    const [f, s] = clock.clients;
    expect(f!.trainSec).toBeCloseTo(0.1, 12);
    expect(f!.downSec).toBeCloseTo(0.4, 12);
    expect(f!.upSec).toBeCloseTo(0.4, 12);
    expect(f!.totalSec).toBeCloseTo(0.9, 12);
    expect(f!.late).toBe(false);
    expect(s!.trainSec).toBeCloseTo(6, 12);
    expect(s!.totalSec).toBeCloseTo(38, 12);
    expect(s!.late).toBe(true);
    expect(clock.lateIds).toEqual(['slow']);
    expect(clock.closeSec).toBe(10);
    expect(clock.roundSec).toBeCloseTo(12.5, 12);
  });

  it('with a deadline both make, closes at the last arrival', () => {
    const clock = simulateRoundClock([fast, slow], server, options(60));
    expect(clock.lateIds).toEqual([]);
    expect(clock.closeSec).toBeCloseTo(38, 12);
    expect(clock.roundSec).toBeCloseTo(40.5, 12);
    // alone, the fast client closes the round at 0.9 s
    expect(simulateRoundClock([fast], server, options(60)).roundSec).toBeCloseTo(3.4, 12);
  });

  it('waits for overlapped server work that outlasts the clients', () => {
    expect(simulateRoundClock([fast], { ...server, overlappedSec: 5 }, options(60)).closeSec).toBe(5);
    expect(simulateRoundClock([fast], { ...server, overlappedSec: 0.2 }, options(60)).closeSec).toBeCloseTo(0.9, 12);
  });

  it('rejects a tier without bandwidth and a bad deadline', () => {
    expect(() => simulateRoundClock([{ ...fast, tier: 'watch' }], server, options(10))).toThrow(/tier 'watch'/);
    expect(() => simulateRoundClock([fast], server, options(0))).toThrow(/roundDeadlineSec/);
  });

  it('parses --bandwidth over the defaults', () => {
    expect(parseBandwidth('phone=2e6, tablet=5e6')).toEqual({ phone: 2e6, laptop: 1e7, desktop: 1e7, tablet: 5e6 });
    expect(() => parseBandwidth('phone=fast')).toThrow(/--bandwidth/);
    expect(() => parseBandwidth('phone=-1')).toThrow(/--bandwidth/);
    expect(() => parseBandwidth('phone')).toThrow(/--bandwidth/);
  });
});
