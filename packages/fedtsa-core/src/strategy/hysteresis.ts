/**
 * Re-clustering as clients come and go: a client near a boundary must not flip between
 * clusters every round (FEDTSA.md, known limits). When a fresh KDE clustering keeps the same
 * number of clusters, a client whose new cluster is a neighbour of its old one stays where it
 * was unless its capability lies more than `marginLog` (ln units) past the boundary between them.
 */
import type { KdeClustering } from '../kde.ts';

export function assignWithHysteresis(
  previous: Readonly<Record<string, number>>,
  previousClusterCount: number,
  next: KdeClustering,
  capabilities: Readonly<Record<string, number>>,
  marginLog: number,
): Record<string, number> {
  if (!(marginLog >= 0)) throw new Error(`assignWithHysteresis: marginLog must be >= 0, got ${marginLog}`);
  const assignment = { ...next.assignment };
  if (next.clusters.length !== previousClusterCount) return assignment; // the structure changed: start over
  for (const [id, q] of Object.entries(next.assignment)) {
    const p = previous[id];
    if (p === undefined || p === q || Math.abs(p - q) !== 1) continue;
    const boundary = next.boundaries[Math.min(p, q)];
    const capability = capabilities[id];
    if (boundary === undefined || capability === undefined) continue;
    if (Math.abs(Math.log(capability) - Math.log(boundary)) < marginLog) assignment[id] = p;
  }
  return assignment;
}
