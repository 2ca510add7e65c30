import { describe, expect, it } from 'vitest';
import { resolveSettings } from './settings.ts';

describe('run settings', () => {
  it('validates run settings and fills defaults', () => {
    expect(resolveSettings({}).stage2.steps).toBeGreaterThan(0);
    expect(() => resolveSettings({ rounds: 0 })).toThrow(/rounds/);
    expect(() => resolveSettings({ unknownField: 1 })).toThrow();
  });
});
