/**
 * Poisoning drill (the short version runs with the normal suite:
 * apps/coordinator/src/attack-suite/poisoning.test.ts). One coordinator process with Stage 2 on
 * (the committed generator); every run has six fast and four slow honest clients (demo shards
 * of Fashion-MNIST, Dirichlet 0.5); attackers written against docs/protocol.md: two that form a
 * cluster of their own (a very high reported speed) and two inside the fast tier (a third of its
 * honest members). Each attack is one run:
 *   scale1e3, scale1e10   the model sent, scaled (from round 1);
 *   signflip              the trained update sign-flipped, a normal size (from round 1);
 *   claim1e8              the sign-flipped update claiming 1e8 samples (from round 1);
 *   scale1e3 late         honest for two rounds, then scaled (the typical change is known by then).
 * Asserted for each, against the same seeded run without attackers (the control; for the late
 * attack, the run whose attackers train honestly for two rounds and then upload NaN, refused
 * outright: what they gave in rounds 1-2 is theirs to give, and no defence can take it back):
 *   - no saved model file holds a non-finite value;
 *   - no honest update is refused (on arrival or at the close);
 *   - each honest tier's final accuracy is within 1 point of the control's;
 *   - the round records (what the dashboard lists) and the coordinator's log name what was
 *     refused, dropped, rolled back or kept from teaching.
 * Soft assertions: one failure does not hide the others' numbers.
 *
 *   npx vitest run --config vitest.drills.config.ts drills/poisoning.drill.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POISONING_SETTINGS } from '../apps/coordinator/src/attack-suite/poisoning-settings.ts';
import {
  describeIncidents, runScenario, startPoisoningCoordinator, type Attack, type CoordinatorProcess, type ScenarioOptions, type ScenarioResult,
} from '../apps/coordinator/src/attack-suite/poisoning-scenario.ts';

const ROUNDS = 5;
const BASE: ScenarioOptions = { honest: { fast: 6, slow: 4 }, rounds: ROUNDS, settings: POISONING_SETTINGS };
const ATTACKS: { name: string; kind: Attack; fromRound: number }[] = [
  { name: 'scale1e3', kind: 'scale1e3', fromRound: 1 },
  { name: 'scale1e10', kind: 'scale1e10', fromRound: 1 },
  { name: 'signflip', kind: 'signflip', fromRound: 1 },
  { name: 'claim1e8', kind: 'claim1e8', fromRound: 1 },
  { name: 'scale1e3 late', kind: 'scale1e3', fromRound: 3 },
];

let coordinator: CoordinatorProcess;
beforeAll(async () => { coordinator = await startPoisoningCoordinator(); }, 90_000);
afterAll(async () => { await coordinator?.stop(); });

function report(name: string, r: ScenarioResult, control?: ScenarioResult): void {
  const vs = control ? ` (control fast ${control.tierAccuracy.fast}, slow ${control.tierAccuracy.slow})` : '';
  console.log(`[poisoning] ${name}: ${r.rounds.length} rounds in ${r.seconds.toFixed(0)} s; final accuracy fast ${r.tierAccuracy.fast}, slow ${r.tierAccuracy.slow}${vs}; `
    + `saved files ${r.savedFiles} (non-finite ${r.nonFiniteFiles.length}); honest refused ${r.honestRefusals.length}; attackers ${r.attackerOutcomes.join(' ')}\n  `
    + describeIncidents(r).join('\n  '));
}

describe('poisoning drill', () => {
  it('keeps every attack away from the honest clusters: nothing non-finite saved, no honest update refused, accuracy within a point', async () => {
    const control = await runScenario(coordinator, BASE);
    report('control', control);
    expect(control.honestRefusals).toEqual([]);
    expect(control.nonFiniteFiles).toEqual([]);
    const lateControl = await runScenario(coordinator, { ...BASE, attack: { kind: 'nan', ownCluster: 2, inside: 2, fromRound: 3 } });
    report('control of the late attack (NaN from round 3)', lateControl, control);
    for (const attack of ATTACKS) {
      const r = await runScenario(coordinator, { ...BASE, attack: { kind: attack.kind, ownCluster: 2, inside: 2, fromRound: attack.fromRound } });
      const reference = attack.fromRound > 1 ? lateControl : control;
      report(attack.name, r, reference);
      expect.soft(r.rounds.map((x) => x.round), `${attack.name}: every round completed`).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
      expect.soft(r.nonFiniteFiles, `${attack.name}: non-finite saved models`).toEqual([]);
      expect.soft(r.honestRefusals, `${attack.name}: honest updates refused`).toEqual([]);
      for (const tier of ['fast', 'slow'] as const) {
        expect.soft(Math.abs(r.tierAccuracy[tier] - reference.tierAccuracy[tier]), `${attack.name}: ${tier} tier ${r.tierAccuracy[tier]} vs control ${reference.tierAccuracy[tier]}`)
          .toBeLessThanOrEqual(0.01);
      }
      const incidents = r.rounds.filter((x) => x.round >= attack.fromRound).flatMap((x) => x.incidents ?? []);
      const namesAttacker = incidents.some((i) => i.clientId !== undefined && r.attackerIds.includes(i.clientId) && i.kind !== 'weight-capped');
      expect.soft(namesAttacker, `${attack.name}: an incident names an attacker`).toBe(true);
      expect.soft(r.warnLines.some((l) => /refused update|update-dropped|rolled back|teaches no one/.test(l)), `${attack.name}: the log names it`).toBe(true);
    }
  });
});
