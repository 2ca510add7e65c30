/**
 * The capability benchmark, of the run's task's width-1 model (the model a round trains, so
 * the score the coordinator clusters and sizes widths by is what training really costs here).
 * Measured once per task; remembered in IndexedDB per backend choice and model, so a reload or
 * another run of the same model reuses it.
 */
import type { BackendName } from '@fedtsa/core/backend';
import { taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import { load, save } from './storage.ts';
import type { TrainerLink } from './trainer-link.ts';
import type { BenchmarkResult } from './worker-messages.ts';

export interface CapabilityBenchmark {
  /** The task's score, measured on first call (or remembered). */
  once(task: TaskDefinition): Promise<BenchmarkResult>;
  /** Measures again, replacing what is remembered. */
  again(task: TaskDefinition): Promise<BenchmarkResult>;
  /** The latest measurement, if one was started. */
  latest(): Promise<BenchmarkResult> | undefined;
  /** Replaces the result (a backend failed mid-round and the trainer fell back: backend-fallback.ts), shown and remembered. */
  replace(task: TaskDefinition, result: BenchmarkResult): Promise<BenchmarkResult>;
}

export function capabilityBenchmark(
  trainer: TrainerLink, forced: BackendName | undefined,
  show: { started(): void; done(result: BenchmarkResult, remembered: boolean): void },
): CapabilityBenchmark {
  const keyOf = (task: TaskDefinition) => {
    const s = taskSpec(task);
    return `benchmark:${forced ?? 'auto'}:${s.inputShape.join('x')}:${s.numClasses}:${s.conv1Filters}-${s.conv2Filters}-${s.hiddenUnits}`;
  };
  const measure = async (task: TaskDefinition, again: boolean): Promise<BenchmarkResult> => {
    show.started();
    const key = keyOf(task);
    const cached = again ? undefined : await load<BenchmarkResult>(key);
    let result: BenchmarkResult;
    if (cached) {
      trainer.send({ kind: 'use-backend', backend: cached.backend });
      await trainer.next('backend-ready');
      result = cached;
    } else {
      trainer.send({ kind: 'benchmark', task, forced, budgetMs: 3000 });
      result = (await trainer.next('benchmark')).result;
      await save(key, result);
    }
    show.done(result, cached !== undefined);
    return result;
  };
  let measured: { key: string; result: Promise<BenchmarkResult> } | undefined;
  return {
    once(task) {
      const key = keyOf(task);
      if (measured?.key !== key) measured = { key, result: measure(task, false) };
      return measured.result;
    },
    again(task) {
      measured = { key: keyOf(task), result: measure(task, true) };
      return measured.result;
    },
    latest: () => measured?.result,
    replace(task, result) {
      const key = keyOf(task);
      measured = { key, result: save(key, result).then(() => { show.done(result, false); return result; }) };
      return measured.result;
    },
  };
}
