/**
 * Hooks that only end-to-end tests use, honoured only in a browser under automation
 * (navigator.webdriver, which Playwright's and WebDriver's browsers set): a page a person opens
 * ignores them. A test sets them before the page loads (page.addInitScript):
 *   window.__fedtsaTestHooks = { failBackendAfterBatches: 3 }
 * makes the backend the benchmark chose throw after 3 batches of every round it trains, so the
 * round falls back to the next backend of the ranking. Either way they touch only this device.
 */
import type { BackendName } from '@fedtsa/core/backend';
import type { TestFailure } from './worker-messages.ts';

export interface TestHooks {
  failBackendAfterBatches?: number;
}

let broken: BackendName | undefined;

/** The failure to inject, if a test asked for one: always in the backend chosen first (the fallback after it works). */
export function testFailure(chosen: BackendName): TestFailure | undefined {
  const afterBatches = testHooks().failBackendAfterBatches;
  if (afterBatches === undefined) return undefined;
  broken ??= chosen;
  return { backend: broken, afterBatches };
}

function testHooks(): TestHooks {
  if (navigator.webdriver !== true) return {};
  const hooks = (window as unknown as { __fedtsaTestHooks?: unknown }).__fedtsaTestHooks;
  if (typeof hooks !== 'object' || hooks === null) return {};
  const n = (hooks as TestHooks).failBackendAfterBatches;
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 10_000 ? { failBackendAfterBatches: n } : {};
}
