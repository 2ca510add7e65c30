import { describe, expect, it } from 'vitest';
import { dropRefusals, outcomeIncidents } from './round-safeguards.ts';

describe('outcomeIncidents', () => {
  it("names each of the close's decisions, a direction check that stood down included, in the order they were taken", () => {
    const outcome = {
      dropped: [{ clientId: 'c1', clusterIndex: 0, reason: 'direction' as const, message: 'cosine -0.4', numbers: { cosine: -0.4 } }],
      unscreened: [{ clusterIndex: 2, updates: 7, consensus: -0.083 }],
      capped: [{ clientId: 'c2', clusterIndex: 0, claimed: 1e8, weight: 900 }],
      rollbacks: [],
      teachers: [],
    };
    const incidents = outcomeIncidents(outcome, 0);
    expect(incidents.map((i) => [i.kind, i.clusterIndex, i.clientId])).toEqual([
      ['update-dropped', 0, 'c1'], ['direction-check-skipped', 2, undefined], ['weight-capped', 0, 'c2'],
    ]);
    expect(incidents[1]).toMatchObject({ numbers: { consensus: -0.083, minConsensus: 0, updates: 7 } });
    expect(incidents[1]?.message).toBe("cluster 2's 7 updates do not agree on a direction (median cosine -0.083 < 0): the direction screen did not run on them this round");
    expect(dropRefusals(outcome).get('c1')?.code).toBe('FEDTSA_ERR_DIRECTION');
  });
});
