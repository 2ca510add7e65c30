/**
 * Why each cluster of a run has its width, for the dashboard (protocol ClusterWidthReason):
 * core width-policy.ts's figures for the members' current speeds and the run's settings, the
 * same inputs the plan used (settings.ts planOptionsOf: every client is taken to hold
 * expectedSamplesPerClient samples). A member whose speed changed since the plan shows its new
 * speed; the width follows at the next re-clustering.
 */
import type { ClusteringSnapshot } from '@fedtsa/core/round/plan';
import { explainClusterWidth } from '@fedtsa/core/width-policy';
import type { ClusterWidthReason } from '@fedtsa/protocol/dashboard';
import type { RunSettings } from './settings-schema.ts';

export function describeWidthReasons(
  clustering: ClusteringSnapshot, speeds: ReadonlyMap<string, number>, settings: Pick<RunSettings, 'roundBudgetSec' | 'localEpochs' | 'expectedSamplesPerClient'>,
): ClusterWidthReason[] {
  const samplesPerRound = settings.localEpochs * settings.expectedSamplesPerClient;
  return clustering.clusters.flatMap((c) => {
    const caps = c.memberIds.map((id) => speeds.get(id)).filter((s): s is number => s !== undefined && Number.isFinite(s) && s > 0);
    if (caps.length === 0) return []; // an empty cluster (held by hysteresis) has nothing to explain
    const r = explainClusterWidth(caps, c.widthRatio, { roundBudgetSec: settings.roundBudgetSec, samplesPerRound });
    return [{
      clusterIndex: c.index, widthRatio: c.widthRatio, slowEndSamplesPerSec: r.slowEndCapability, roundBudgetSec: r.roundBudgetSec,
      samplesPerRound: r.samplesPerRound, estimatedSec: r.estimatedSec, fittingWidth: r.fittingWidth,
    }];
  });
}
