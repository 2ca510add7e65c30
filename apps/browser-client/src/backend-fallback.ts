/**
 * Where a round goes when its backend fails mid-round: the benchmark's ranking (the backends
 * that passed it, fastest first), then the ones it never tried (a forced backend), in the
 * usual order. A backend that failed the benchmark is not tried again. After a fallback the
 * device's capability is the fallback's measured speed, remembered like a benchmark.
 */
import type { BackendName } from '@fedtsa/core/backend';
import { BACKEND_ORDER } from './backend-names.ts';
import type { BenchmarkResult } from './worker-messages.ts';

export function fallbackOrder(result: BenchmarkResult): BackendName[] {
  const ranked = result.trials.filter((t) => t.samplesPerSec !== undefined && t.backend !== result.backend)
    .sort((a, b) => (b.samplesPerSec as number) - (a.samplesPerSec as number)).map((t) => t.backend);
  const untried = BACKEND_ORDER.filter((b) => b !== result.backend && !result.trials.some((t) => t.backend === b));
  return [...ranked, ...untried];
}

/** The benchmark result after `from` failed and the round was redone on `to`, measured at `samplesPerSec`. */
export function afterFallback(result: BenchmarkResult, fallback: { from: BackendName; to: BackendName; reason: string; samplesPerSec: number }): BenchmarkResult {
  const others = result.trials.filter((t) => t.backend !== fallback.from && t.backend !== fallback.to);
  return {
    backend: fallback.to, samplesPerSec: fallback.samplesPerSec, durationMs: result.durationMs,
    trials: [{ backend: fallback.to, samplesPerSec: fallback.samplesPerSec }, ...others, { backend: fallback.from, error: `failed while training: ${fallback.reason}` }],
  };
}
