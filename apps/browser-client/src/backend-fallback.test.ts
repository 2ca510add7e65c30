import { describe, expect, it } from 'vitest';
import { afterFallback, fallbackOrder } from './backend-fallback.ts';
import type { BenchmarkResult } from './worker-messages.ts';

const RESULT: BenchmarkResult = {
  backend: 'webgl', samplesPerSec: 900, durationMs: 3000,
  trials: [{ backend: 'webgpu', error: 'no adapter' }, { backend: 'webgl', samplesPerSec: 900 }, { backend: 'wasm', samplesPerSec: 300 }, { backend: 'cpu', samplesPerSec: 400 }],
};

describe('backend fallback', () => {
  it('follows the benchmark ranking, fastest first, never a backend that failed the benchmark', () => {
    expect(fallbackOrder(RESULT)).toEqual(['cpu', 'wasm']);
  });

  it('with a forced backend (one trial), tries the others in the usual order', () => {
    expect(fallbackOrder({ backend: 'wasm', samplesPerSec: 300, durationMs: 1000, trials: [{ backend: 'wasm', samplesPerSec: 300 }] })).toEqual(['webgpu', 'webgl', 'cpu']);
  });

  it('after a fallback the result names the new backend and speed, and the failed one as failed', () => {
    const next = afterFallback(RESULT, { from: 'webgl', to: 'cpu', reason: 'non-finite loss', samplesPerSec: 410 });
    expect(next.backend).toBe('cpu');
    expect(next.samplesPerSec).toBe(410);
    expect(next.trials.find((t) => t.backend === 'webgl')?.error).toContain('non-finite loss');
    expect(fallbackOrder(next)).toEqual(['wasm']);
  });
});
