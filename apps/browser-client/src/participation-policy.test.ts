import { describe, expect, it } from 'vitest';
import { combinePolicies, describeParticipation, NO_POLICY, participationOf } from './participation-policy.ts';

const CHARGING = { requireCharging: true, requireVisible: false };
const VISIBLE = { requireCharging: false, requireVisible: true };

describe('participation policy', () => {
  it('the user adds to the run rules, never relaxes them', () => {
    expect(combinePolicies(CHARGING, NO_POLICY)).toEqual(CHARGING);
    expect(combinePolicies(NO_POLICY, VISIBLE)).toEqual(VISIBLE);
    expect(combinePolicies(CHARGING, VISIBLE)).toEqual({ requireCharging: true, requireVisible: true });
  });

  it('is unavailable for each required rule known to be unmet, with its reason', () => {
    expect(participationOf(CHARGING, { charging: false, visible: true })).toEqual({ available: false, reasons: ['not-charging'] });
    expect(participationOf(CHARGING, { charging: true, visible: false })).toEqual({ available: true });
    expect(participationOf(combinePolicies(CHARGING, VISIBLE), { charging: false, visible: false }))
      .toEqual({ available: false, reasons: ['not-charging', 'page-hidden'] });
    expect(participationOf(NO_POLICY, { charging: false, visible: false })).toEqual({ available: true });
  });

  it('an unknown fact (no API) does not stop the page, and the page says the rule cannot be checked', () => {
    expect(participationOf(CHARGING, { charging: undefined, visible: true })).toEqual({ available: true });
    expect(describeParticipation(CHARGING, NO_POLICY, { charging: undefined, visible: true })).toContain('no Battery Status API');
    expect(describeParticipation(NO_POLICY, VISIBLE, { charging: true, visible: undefined })).toContain('no Page Visibility API');
  });

  it('says why it does not train and whose rule it is', () => {
    expect(describeParticipation(CHARGING, NO_POLICY, { charging: false, visible: true }))
      .toBe("Not training: this device is not charging (plug it in to take part); this run's rule.");
    expect(describeParticipation(NO_POLICY, VISIBLE, { charging: true, visible: false })).toContain('page is hidden (bring it back to the screen to take part); your choice');
    expect(describeParticipation(CHARGING, NO_POLICY, { charging: true, visible: true })).toBe('Training allowed: charging.');
    expect(describeParticipation(NO_POLICY, NO_POLICY, { charging: false, visible: false })).toBe('');
  });
});
