import { describe, expect, it } from 'vitest';
import { resolveSettings } from './settings.ts';

// The clustering's own cases moved to packages/fedtsa-core/src/round/plan.test.ts; this one
// belongs to settings.ts and should move to a settings.test.ts beside it.
describe('run settings', () => {
  it('validates run settings and fills defaults', () => {
    expect(resolveSettings({}).stage2.steps).toBeGreaterThan(0);
    expect(() => resolveSettings({ rounds: 0 })).toThrow(/rounds/);
    expect(() => resolveSettings({ unknownField: 1 })).toThrow();
  });
});
