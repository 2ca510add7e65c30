/**
 * The close of a round, written once for every runner (FEDTSA.md section 4, docs/robustness.md):
 *
 *   screen each cluster's updates against each other (norm, leave-one-out; direction)
 *   -> cap the averaging weights of the sample claims
 *   -> Stage 1 (the strategy's proposal)      -> invariants: a failing cluster keeps its start
 *   -> the server step (Stage 2), if any       -> invariants: a failing cluster keeps Stage 1
 *   -> the strategy adopts the result
 *
 * The updates come in selection order (round/participants.ts) and Stage 1 sums them in it.
 * Pure apart from the strategy it drives: no clocks but the injected one, no I/O, no sockets.
 * The simulation calls it in its process, the coordinator in its aggregation worker.
 */
import { cappedWeights } from '../screening/averaging-weights.ts';
import { changeLimit, checkModelStep, type ChangeLimit } from '../screening/invariants.ts';
import { l2Distance, screenClusterUpdates, type ScreenDrop } from '../screening/update-screen.ts';
import type { ClientUpdate, ClusterModel, ServerStepReport, Strategy } from '../strategy/types.ts';
import { validateRoundPolicy, type RoundPolicy } from './policy.ts';

/** An update that passed its arrival check, with its distance from the model sent. */
export interface ReceivedUpdate extends ClientUpdate {
  distance: number;
}

export interface CloseInput {
  round: number;
  /** Updates accepted on arrival, in selection order. */
  updates: readonly ReceivedUpdate[];
  /** Per cluster: the weights its participants were sent (what the distances are measured from). */
  sent: ReadonlyMap<number, Float32Array>;
  /** Per cluster: its recorded round-to-round changes at its width, oldest first (round/memory.ts). */
  history: ReadonlyMap<number, readonly number[]>;
  policy: RoundPolicy;
  now?: () => number;
}

/** A step whose result broke a round invariant and was undone. */
export interface Rollback {
  clusterIndex: number;
  step: 'stage1' | 'stage2';
  reason: string;
  change: number;
  maxChange: number;
}

export interface RoundOutcome {
  /** The models the strategy adopted, one per cluster. */
  models: ClusterModel[];
  /** The updates Stage 1 averaged (selection order), each with its capped averaging weight as numSamples. */
  accepted: ReceivedUpdate[];
  /** Updates the close's screen dropped. */
  dropped: (ScreenDrop & { clusterIndex: number })[];
  /** Claims whose averaging weight was capped below the claim. */
  capped: { clientId: string; clusterIndex: number; claimed: number; weight: number }[];
  rollbacks: Rollback[];
  teachers: NonNullable<ServerStepReport['teachers']>;
  /** Per cluster: how far its model could move this round, and how far it moved. */
  limits: ({ clusterIndex: number } & ChangeLimit)[];
  changes: { clusterIndex: number; change: number }[];
  stage1Ms: number;
  serverStepMs: number;
  serverStepStats: Record<string, number>;
}

function screen(input: CloseInput): { kept: ReceivedUpdate[]; dropped: RoundOutcome['dropped'] } {
  const dropped: RoundOutcome['dropped'] = [];
  const out = new Set<string>();
  for (const clusterIndex of new Set(input.updates.map((u) => u.clusterIndex))) {
    const sent = input.sent.get(clusterIndex);
    if (!sent) throw new Error(`closeRound: no weights sent to cluster ${clusterIndex}`);
    const list = input.updates.filter((u) => u.clusterIndex === clusterIndex);
    for (const d of screenClusterUpdates(sent, list, input.policy).dropped) {
      dropped.push({ ...d, clusterIndex });
      out.add(d.clientId);
    }
  }
  return { kept: input.updates.filter((u) => !out.has(u.clientId)), dropped };
}

function capClaims(updates: readonly ReceivedUpdate[], policy: RoundPolicy): { accepted: ReceivedUpdate[]; capped: RoundOutcome['capped'] } {
  const weights = new Map<string, number>();
  for (const clusterIndex of new Set(updates.map((u) => u.clusterIndex))) {
    const list = updates.filter((u) => u.clusterIndex === clusterIndex);
    const w = cappedWeights(list.map((u) => u.numSamples), policy);
    list.forEach((u, i) => weights.set(u.clientId, w[i] as number));
  }
  const capped: RoundOutcome['capped'] = [];
  const accepted = updates.map((u) => {
    const weight = weights.get(u.clientId) as number;
    if (weight < u.numSamples) capped.push({ clientId: u.clientId, clusterIndex: u.clusterIndex, claimed: u.numSamples, weight });
    return { ...u, numSamples: weight };
  });
  return { accepted, capped };
}

/** Keeps each model of `next` that stays within its limit from `start`; puts `fallback`'s back where one does not. */
function enforce(
  step: Rollback['step'], start: readonly ClusterModel[], next: readonly ClusterModel[], fallback: readonly ClusterModel[],
  limits: RoundOutcome['limits'], rollbacks: Rollback[],
): ClusterModel[] {
  return next.map((m, k) => {
    const limit = limits[k] as RoundOutcome['limits'][number];
    const check = checkModelStep((start[k] as ClusterModel).weights, m.weights, limit);
    if (check.ok) return m;
    rollbacks.push({ clusterIndex: m.clusterIndex, step, reason: check.reason, change: check.change, maxChange: limit.maxChange });
    return fallback[k] as ClusterModel;
  });
}

export async function closeRound(strategy: Strategy, input: CloseInput): Promise<RoundOutcome> {
  validateRoundPolicy(input.policy, 'closeRound');
  const now = input.now ?? (() => Date.now());
  const start = strategy.clusterModels();
  const limits = start.map((m) => ({ clusterIndex: m.clusterIndex, ...changeLimit(m.weights, input.history.get(m.clusterIndex) ?? [], input.policy) }));
  const { kept, dropped } = screen(input);
  const { accepted, capped } = capClaims(kept, input.policy);
  const rollbacks: Rollback[] = [];
  const t0 = now();
  // A cluster whose average breaks an invariant keeps the model it started the round with.
  const stage1 = enforce('stage1', start, strategy.stage1(accepted), start, limits, rollbacks);
  const t1 = now();
  let final = stage1;
  let teachers: RoundOutcome['teachers'] = [];
  let serverStepStats: Record<string, number> = {};
  if (strategy.serverStep && stage1.length > 1) {
    // A cluster that no accepted update reached, or whose average was rolled back, has nothing of this round to teach.
    const withoutTeaching = new Map<number, string>();
    for (const m of stage1) {
      if (rollbacks.some((r) => r.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'its Stage 1 result was rolled back this round');
      else if (!accepted.some((u) => u.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'no accepted update reached it this round');
    }
    const report = await strategy.serverStep(input.round, stage1, { withoutTeaching });
    // A cluster whose server-step result breaks an invariant keeps its Stage 1 result.
    final = enforce('stage2', start, report.models, stage1, limits, rollbacks);
    teachers = report.teachers ?? [];
    serverStepStats = report.stats;
  }
  const t2 = now();
  strategy.adopt(final);
  return {
    models: strategy.clusterModels(), accepted, dropped, capped, rollbacks, teachers, limits,
    changes: final.map((m, k) => ({ clusterIndex: m.clusterIndex, change: l2Distance((start[k] as ClusterModel).weights, m.weights) })),
    stage1Ms: t1 - t0, serverStepMs: t2 - t1, serverStepStats,
  };
}
