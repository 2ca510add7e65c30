/**
 * Who trains in a round: per cluster, its online members (sorted by id, so the order in which a
 * runner lists them does not matter) in a seeded order that depends only on (seed, round), so a
 * resumed run or another runner picks the same participants in the same order; the first
 * `count(online)` of them train. The order is also the order in which Stage 1
 * sums the updates (round/close.ts), so a round's result never depends on network timing.
 */
import { createRng, deriveSeed, shuffleInPlace } from '../rng.ts';
import type { ClusterPlan } from '../strategy/types.ts';

export interface SelectionOptions {
  seed: number;
  round: number;
  /** How many of a cluster's `online` members train (clamped to [0, online]). */
  count: (online: number) => number;
  /** Default: everybody is online. */
  isOnline?: (clientId: string) => boolean;
}

/** clientId -> cluster index, in selection order. */
export function selectParticipants(clusters: readonly ClusterPlan[], options: SelectionOptions): Map<string, number> {
  const rng = createRng(deriveSeed(options.seed, 11, options.round));
  const selected = new Map<string, number>();
  for (const c of clusters) {
    const online = (options.isOnline ? c.memberIds.filter(options.isOnline) : [...c.memberIds]).sort();
    const k = Math.max(0, Math.min(online.length, Math.floor(options.count(online.length))));
    for (const id of shuffleInPlace(rng, online).slice(0, k)) selected.set(id, c.index);
  }
  return selected;
}
