/**
 * The participation policy, pure: the run's rules and the user's combined, the device's facts
 * in, whether the page may train and what it says about it out. The page's wiring (Page
 * Visibility, Battery Status) is participation.ts.
 */
import type { ParticipationPolicy } from '@fedtsa/protocol/events';
import type { Participation, ParticipationReason } from '@fedtsa/protocol/messages';

/** What the browser tells the page; undefined: it does not say (no API), so the rule cannot be checked. */
export interface DeviceFacts {
  charging: boolean | undefined;
  visible: boolean | undefined;
}

export const NO_POLICY: ParticipationPolicy = { requireCharging: false, requireVisible: false };

/** The user may add to the run's rules, never relax them. */
export function combinePolicies(run: ParticipationPolicy, user: ParticipationPolicy): ParticipationPolicy {
  return { requireCharging: run.requireCharging || user.requireCharging, requireVisible: run.requireVisible || user.requireVisible };
}

/** Unavailable only for a rule that is required and known to be unmet; an unknown fact does not stop the page. */
export function participationOf(policy: ParticipationPolicy, facts: DeviceFacts): Participation {
  const reasons: ParticipationReason[] = [];
  if (policy.requireCharging && facts.charging === false) reasons.push('not-charging');
  if (policy.requireVisible && facts.visible === false) reasons.push('page-hidden');
  return reasons.length > 0 ? { available: false, reasons } : { available: true };
}

const WHY: Record<ParticipationReason, string> = {
  'not-charging': 'this device is not charging (plug it in to take part)',
  'page-hidden': 'this page is hidden (bring it back to the screen to take part)',
};

/** What the page says: why it does not train, and which rules it cannot check here. */
export function describeParticipation(run: ParticipationPolicy, user: ParticipationPolicy, facts: DeviceFacts): string {
  const policy = combinePolicies(run, user);
  const state = participationOf(policy, facts);
  const whose = (rule: keyof ParticipationPolicy) => (run[rule] ? "this run's rule" : 'your choice');
  const parts: string[] = [];
  if (!state.available) {
    const rules = state.reasons.map((r) => `${WHY[r]}; ${whose(r === 'not-charging' ? 'requireCharging' : 'requireVisible')}`);
    parts.push(`Not training: ${rules.join('; and ')}.`);
  } else if (policy.requireCharging || policy.requireVisible) {
    const met = [policy.requireCharging && facts.charging === true ? 'charging' : '', policy.requireVisible && facts.visible === true ? 'visible' : ''].filter(Boolean);
    if (met.length > 0) parts.push(`Training allowed: ${met.join(' and ')}.`);
  }
  if (policy.requireCharging && facts.charging === undefined) {
    parts.push('This browser does not tell pages whether the device is charging (no Battery Status API), so "only while charging" cannot be checked here: the page trains plugged in or not.');
  }
  if (policy.requireVisible && facts.visible === undefined) {
    parts.push('This browser does not tell pages whether they are visible (no Page Visibility API), so "only while visible" cannot be checked here.');
  }
  return parts.join(' ');
}
