/**
 * What a run remembers from one round to the next for its safeguards, per cluster:
 *   - the median distance of its accepted updates from the model sent (the next round's arrival
 *     reference, screening/arrival.ts);
 *   - its models' round-to-round changes at its current width (the invariants' reference,
 *     screening/invariants.ts).
 * Both start over when a cluster's width changes: a model of another width moves by another
 * distance. The coordinator rebuilds the memory from its saved round records after a restart
 * (fromRecords), so the first round after a restart is checked like any other.
 */
import { CHANGE_HISTORY } from '../screening/invariants.ts';
import { median } from '../screening/update-screen.ts';
import type { RoundOutcome } from './close.ts';

/** What a saved round tells the memory about each cluster. */
export interface RememberedCluster {
  clusterIndex: number;
  widthRatio: number;
  medianDistance?: number;
  modelChange?: number;
}

/** Changes kept per cluster: more than the invariants read, fewer than a long run makes. */
const KEPT_CHANGES = 4 * CHANGE_HISTORY;

export class RoundMemory {
  private readonly medians = new Map<number, number>();
  private readonly changes = new Map<number, number[]>();

  static fromRecords(rounds: readonly { clusters: readonly RememberedCluster[] }[]): RoundMemory {
    const memory = new RoundMemory();
    const widths = new Map<number, number>();
    for (const r of rounds) {
      for (const c of r.clusters) {
        if (widths.has(c.clusterIndex) && widths.get(c.clusterIndex) !== c.widthRatio) memory.forget(c.clusterIndex);
        widths.set(c.clusterIndex, c.widthRatio);
        if (c.modelChange !== undefined) memory.pushChange(c.clusterIndex, c.modelChange);
        if (c.medianDistance !== undefined) memory.medians.set(c.clusterIndex, c.medianDistance);
      }
    }
    return memory;
  }

  /** The arrival reference: the last round's median distance, else this round's so far (from 2 updates). */
  reference(clusterIndex: number, sameRound: readonly number[]): number | undefined {
    return this.medians.get(clusterIndex) ?? (sameRound.length >= 2 ? median(sameRound) : undefined);
  }

  /** The recorded median distance of a cluster (for the round record). */
  medianDistance(clusterIndex: number): number | undefined {
    return this.medians.get(clusterIndex);
  }

  /** A cluster's recorded changes at its current width, oldest first. */
  history(clusterIndex: number): readonly number[] {
    return this.changes.get(clusterIndex) ?? [];
  }

  /** Every cluster's change history, for a close that runs elsewhere (a worker). */
  histories(): Map<number, number[]> {
    return new Map([...this.changes].map(([k, v]) => [k, [...v]]));
  }

  /** A cluster whose width changed: its references start over. */
  forget(clusterIndex: number): void {
    this.medians.delete(clusterIndex);
    this.changes.delete(clusterIndex);
  }

  /** After a round closed: its changes, and the median distance of each cluster whose Stage 1 stood. */
  remember(outcome: Pick<RoundOutcome, 'changes' | 'accepted' | 'rollbacks'>): void {
    for (const c of outcome.changes) this.pushChange(c.clusterIndex, c.change);
    for (const c of outcome.changes) {
      // A rolled-back Stage 1 had an update the invariants refused to average: its distances are no reference.
      if (outcome.rollbacks.some((r) => r.clusterIndex === c.clusterIndex && r.step === 'stage1')) continue;
      const md = median(outcome.accepted.filter((u) => u.clusterIndex === c.clusterIndex).map((u) => u.distance));
      if (md !== undefined) this.medians.set(c.clusterIndex, md);
    }
  }

  private pushChange(clusterIndex: number, change: number): void {
    this.changes.set(clusterIndex, [...(this.changes.get(clusterIndex) ?? []), change].slice(-KEPT_CHANGES));
  }
}
