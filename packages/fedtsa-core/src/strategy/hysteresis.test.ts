import { describe, expect, it } from 'vitest';
import { assignWithHysteresis } from './hysteresis.ts';

describe('assignWithHysteresis', () => {
  it('flips the near-boundary client without hysteresis and not with it, on a constructed clustering', () => {
    const next = {
      clusters: [], boundaries: [100], bandwidth: 1, grid: { x: [], density: [] },
      assignment: { a: 1, b: 0, c: 1 },
    } as unknown as Parameters<typeof assignWithHysteresis>[2];
    (next as { clusters: unknown[] }).clusters = [{}, {}];
    const previous = { a: 0, b: 0, c: 0 };
    const caps = { a: 105, b: 50, c: 300 };
    // a is ln(1.05) = 0.05 past the boundary: stays; c is ln(3) = 1.1 past it: moves
    expect(assignWithHysteresis(previous, 2, next, caps, 0.2)).toEqual({ a: 0, b: 0, c: 1 });
    expect(assignWithHysteresis(previous, 2, next, caps, 0.01)).toEqual({ a: 1, b: 0, c: 1 });
    // a client new to the run takes the fresh assignment
    expect(assignWithHysteresis({ b: 0 }, 2, next, caps, 0.2)).toEqual({ a: 1, b: 0, c: 1 });
    expect(assignWithHysteresis(previous, 3, next, caps, 0.2)).toEqual({ a: 1, b: 0, c: 1 });
    expect(() => assignWithHysteresis(previous, 2, next, caps, -1)).toThrow(/marginLog/);
  });
});
