/**
 * The page's participation: the run's policy (Welcome.participation) and the user's own choices
 * (two boxes on the page, remembered on this device) against what the browser says, through the
 * Page Visibility API and the Battery Status API (navigator.getBattery) where it has them; where
 * it does not, the rule cannot be checked, the page trains and says so. Every change is passed to
 * `onChange` (the page reports it to the coordinator and stops a round it can no longer finish).
 * The rules themselves: participation-policy.ts.
 */
import type { ParticipationPolicy } from '@fedtsa/protocol/events';
import type { Participation } from '@fedtsa/protocol/messages';
import { combinePolicies, describeParticipation, NO_POLICY, participationOf, type DeviceFacts } from './participation-policy.ts';

interface BatteryLike extends EventTarget {
  charging: boolean;
}

export interface ParticipationWatch {
  /** Whether the page may train now, under the run's rules and the user's. */
  current(): Participation;
  /** Resolves once the battery's state is known (or known to be unavailable). */
  readonly ready: Promise<void>;
  setRunPolicy(policy: ParticipationPolicy): void;
  /** For the page's test state: the policies, the facts and the state. */
  snapshot(): { run: ParticipationPolicy; user: ParticipationPolicy; facts: DeviceFacts; state: Participation; text: string };
}

const USER_KEY = 'fedtsa:participation';

function readUserPolicy(): ParticipationPolicy {
  try {
    const saved = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null') as Partial<ParticipationPolicy> | null;
    return { requireCharging: saved?.requireCharging === true, requireVisible: saved?.requireVisible === true };
  } catch {
    return { ...NO_POLICY }; // storage blocked or garbled: no choices remembered
  }
}

export function watchParticipation(onChange: (state: Participation) => void): ParticipationWatch {
  let run = { ...NO_POLICY };
  let user = readUserPolicy();
  const facts: DeviceFacts = {
    charging: undefined,
    visible: typeof document.visibilityState === 'string' ? document.visibilityState === 'visible' : undefined,
  };
  const boxes = { requireCharging: document.getElementById('only-charging') as HTMLInputElement | null, requireVisible: document.getElementById('only-visible') as HTMLInputElement | null };
  const note = document.getElementById('participation');
  let last = participationOf(combinePolicies(run, user), facts);

  const key = (p: Participation) => (p.available ? 'yes' : p.reasons.join(','));
  const update = () => {
    const state = participationOf(combinePolicies(run, user), facts);
    for (const rule of ['requireCharging', 'requireVisible'] as const) {
      const box = boxes[rule];
      if (!box) continue;
      box.checked = run[rule] || user[rule];
      box.disabled = run[rule]; // the run's rule: the user cannot untick it
    }
    if (note) {
      const text = describeParticipation(run, user, facts);
      note.hidden = text === '';
      note.textContent = text;
      note.classList.toggle('warning', !state.available);
    }
    if (key(state) !== key(last)) {
      last = state;
      onChange(state);
    }
  };

  for (const rule of ['requireCharging', 'requireVisible'] as const) {
    boxes[rule]?.addEventListener('change', () => {
      user = { ...user, [rule]: boxes[rule]?.checked === true };
      try { localStorage.setItem(USER_KEY, JSON.stringify(user)); } catch { /* not remembered; still applies now */ }
      update();
    });
  }
  if (facts.visible !== undefined) {
    document.addEventListener('visibilitychange', () => {
      facts.visible = document.visibilityState === 'visible';
      update();
    });
  }
  const getBattery = (navigator as unknown as { getBattery?: () => Promise<BatteryLike> }).getBattery;
  const ready = typeof getBattery !== 'function' ? Promise.resolve() : getBattery.call(navigator).then((battery) => {
    facts.charging = battery.charging;
    battery.addEventListener('chargingchange', () => {
      facts.charging = battery.charging;
      update();
    });
  }, () => undefined).then(update); // refused (a permissions policy): charging stays unknown
  update();

  return {
    current: () => participationOf(combinePolicies(run, user), facts),
    ready,
    setRunPolicy(policy) {
      run = { requireCharging: policy.requireCharging === true, requireVisible: policy.requireVisible === true };
      update();
    },
    snapshot: () => ({ run, user, facts: { ...facts }, state: participationOf(combinePolicies(run, user), facts), text: note?.textContent ?? '' }),
  };
}
