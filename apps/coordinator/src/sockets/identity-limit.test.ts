import { describe, expect, it } from 'vitest';
import { IdentityLimiter } from './identity-limit.ts';

describe('IdentityLimiter', () => {
  it('allows perMinute identities per address in any sliding minute, and says when the next one may come', () => {
    let now = 1_000_000;
    const limiter = new IdentityLimiter(3, 60_000, () => now);
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, true]);
    now += 30_000;
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    expect(limiter.take('b')).toBe(true); // per address
    // The first two expire 60 s after they were taken, not at a fixed window's edge.
    expect(limiter.retryAfterMs('a')).toBe(30_000);
    now += 29_999;
    expect(limiter.take('a')).toBe(false);
    now += 1;
    expect(limiter.retryAfterMs('a')).toBe(0);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, false]);
  });

  it('refusals do not count, and idle addresses are forgotten', () => {
    let now = 0;
    const limiter = new IdentityLimiter(1, 60_000, () => now);
    expect(limiter.take('a')).toBe(true);
    for (let i = 0; i < 10; i++) expect(limiter.take('a')).toBe(false);
    now += 60_000;
    expect(limiter.take('a')).toBe(true);
    now += 120_000;
    limiter.take('c'); // a sweep
    expect((limiter as unknown as { recent: Map<string, number[]> }).recent.has('a')).toBe(false);
  });
});
