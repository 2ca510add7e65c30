/**
 * A run's settings as a request gives them, resolved: defaults filled in, checked against the
 * schema, refused in our words. Every field, with its bounds and default: settings-schema.ts.
 */
import { Value } from '@sinclair/typebox/value';
import { checkBounded, FieldError, firstFieldError } from '../field-errors.ts';
import type { ClusteringSnapshot, PlanOptions } from '@fedtsa/core/round/plan';
import type { MutualLearningOptions } from '@fedtsa/core/stage2/mutual-learning';
import { RunSettings } from './settings-schema.ts';

export { RunSettings, Stage2Settings } from './settings-schema.ts';

/**
 * Settings are two levels deep (settings.stage2.poolSize) and hold a few dozen fields: input far
 * past that is refused by size before anything clones or walks it (a value nested 10,000 deep
 * would otherwise exhaust the call stack in structuredClone or the schema check).
 */
const SETTINGS_LIMITS = { maxDepth: 4, maxEntries: 256 };

/**
 * Fills defaults into a partial settings object and validates the result. Throws a FieldError
 * naming the first offending field (unknown fields are refused at every level) in plain words.
 */
export function resolveSettings(partial: unknown): RunSettings {
  if (partial === undefined) partial = {};
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) throw new FieldError('settings', 'expected an object');
  checkBounded(partial, 'settings', SETTINGS_LIMITS);
  const input = structuredClone(partial) as Record<string, unknown>;
  if (input.stage2 === undefined) input.stage2 = {};
  const filled = Value.Default(RunSettings, input);
  const error = firstFieldError(RunSettings, filled, 'settings');
  if (error) throw error;
  return filled as RunSettings;
}

/** Stage 2's mutual-learning options (core stage2/mutual-learning.ts) from a run's Stage 2 settings. */
export function mutualLearningOf(s: RunSettings['stage2']): Partial<MutualLearningOptions> {
  return {
    steps: s.steps, batchSize: s.batchSize, temperature: s.temperature, lambda: s.lambda, learningRate: s.learningRate, optimizer: s.optimizer,
    teacherRule: s.teacherRule ? { maxAbsLogit: s.teacherMaxAbsLogit, minSkill: s.teacherMinSkill, maxLossRatio: s.teacherMaxLossRatio } : null,
  };
}

/** The core's plan options (round/plan.ts) from a run's settings, for `clients` ready clients and the clustering in force. */
export function planOptionsOf(s: RunSettings, clients: number, previous?: ClusteringSnapshot): PlanOptions {
  return {
    kde: { bandwidthFactor: s.kdeBandwidthFactor, minProminence: s.kdeMinProminence, minClusterSize: Math.min(s.minClientsPerCluster, clients) },
    roundBudgetSec: s.roundBudgetSec, localEpochs: s.localEpochs,
    hysteresis: previous && { previous, marginLog: s.hysteresisLog },
  };
}
