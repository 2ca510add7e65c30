/**
 * Short poisoning drill (the long one: drills/poisoning.drill.ts). A real coordinator process
 * with Stage 2 on; honest clients in two tiers; two attackers that form a cluster of their own
 * and one inside the fast tier (a third of its honest members), all written against the protocol
 * document, upload models scaled by 1e10 from round 1. Nothing non-finite is saved, no honest
 * update is refused, the honest tiers end within a point of the same run without the attackers,
 * and the round records (what the dashboard lists) and the log name what was refused or rolled back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POISONING_SETTINGS } from './poisoning-settings.ts';
import { describeIncidents, runScenario, startPoisoningCoordinator, type CoordinatorProcess, type ScenarioOptions } from './poisoning-scenario.ts';


let coordinator: CoordinatorProcess;
beforeAll(async () => { coordinator = await startPoisoningCoordinator(); }, 90_000);
afterAll(async () => { await coordinator?.stop(); });

describe('poisoning (short drill)', () => {
  it('keeps 1e10-scaled attackers, in a cluster of their own and inside an honest one, from touching any honest model', async () => {
    const base: ScenarioOptions = { honest: { fast: 3, slow: 2 }, rounds: 3, settings: POISONING_SETTINGS };
    const control = await runScenario(coordinator, base);
    const attacked = await runScenario(coordinator, { ...base, attack: { kind: 'scale1e10', ownCluster: 2, inside: 1, fromRound: 1 } });
    for (const [name, r] of [['control', control], ['attacked', attacked]] as const) {
      console.log(`[poisoning] ${name}: ${r.rounds.length} rounds in ${r.seconds.toFixed(0)} s, fast ${r.tierAccuracy.fast}, slow ${r.tierAccuracy.slow}, `
        + `attackers ${r.attackerOutcomes.join(' ')}\n  ${describeIncidents(r).join('\n  ')}`);
    }
    expect(control.honestRefusals).toEqual([]);
    expect(attacked.honestRefusals).toEqual([]);
    expect(attacked.savedFiles).toBeGreaterThan(0);
    expect(attacked.nonFiniteFiles).toEqual([]);
    expect(Math.abs(attacked.tierAccuracy.fast - control.tierAccuracy.fast)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(attacked.tierAccuracy.slow - control.tierAccuracy.slow)).toBeLessThanOrEqual(0.01);
    // The inside attacker is refused every round; the own cluster's models are rolled back or kept from teaching.
    expect(attacked.attackerOutcomes.filter((o) => o.endsWith(':accepted')).length).toBeLessThanOrEqual(2 * 3);
    const incidents = attacked.rounds.flatMap((r) => r.incidents ?? []);
    expect(incidents.some((i) => (i.kind === 'update-refused' || i.kind === 'update-dropped') && attacked.attackerIds.includes(i.clientId ?? ''))).toBe(true);
    expect(incidents.some((i) => i.kind === 'stage1-rolled-back' || i.kind === 'teacher-excluded')).toBe(true);
    expect(incidents.filter((i) => i.clientId !== undefined && !attacked.attackerIds.includes(i.clientId) && i.kind !== 'weight-capped')).toEqual([]);
    expect(attacked.warnLines.some((l) => /rolled back|teaches no one|refused update/.test(l))).toBe(true);
  }, 900_000);
});
