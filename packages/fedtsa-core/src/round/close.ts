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
 *
 * Overlap (docs/FEDTSA.md, "Stage 2 off the critical path"): with `deferServerStep` the close
 * stops after Stage 1 and hands back the server step as `deferred`, to run while the next
 * round's clients train from the Stage 1 models. What that step changed (Stage2_r - Stage1_r,
 * per cluster) comes back as `carried` at the next close and is added to that round's Stage 1:
 * FedAvg_{r+1} + (Stage2_r - Stage1_r), checked against the invariants like a Stage 2 result
 * (a failing cluster keeps its Stage 1). Without overlap the step runs inline, as before.
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
  /** The previous round's deferred server step, finished: its change is added to this round's Stage 1. */
  carried?: CarriedServerStep;
  /** Overlap: stop after Stage 1 (and the carried change) and return the server step as `deferred`. */
  deferServerStep?: boolean;
}

/** One cluster's change by a deferred server step: its result minus the model it started from. */
export interface CarriedChange {
  clusterIndex: number;
  widthRatio: number;
  delta: Float32Array;
}

/** A deferred server step's result, to carry into the next close. */
export interface CarriedServerStep {
  /** The round whose Stage 1 models it ran on. */
  round: number;
  changes: CarriedChange[];
  teachers: NonNullable<ServerStepReport['teachers']>;
  stats: Record<string, number>;
  ms: number;
}

/** The server step of a round closed with `deferServerStep`: run it (once) while the next round trains. */
export interface DeferredServerStep {
  round: number;
  run(): Promise<CarriedServerStep>;
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
  /** Clusters whose direction check stood down: their updates did not agree (consensus below the policy's minConsensus). */
  unscreened: { clusterIndex: number; updates: number; consensus: number }[];
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
  /** With `deferServerStep` and a server step: the step on this round's models, to run before the next close. */
  deferred?: DeferredServerStep;
}

function screen(input: CloseInput): { kept: ReceivedUpdate[]; dropped: RoundOutcome['dropped']; unscreened: RoundOutcome['unscreened'] } {
  const dropped: RoundOutcome['dropped'] = [];
  const unscreened: RoundOutcome['unscreened'] = [];
  const out = new Set<string>();
  for (const clusterIndex of new Set(input.updates.map((u) => u.clusterIndex))) {
    const sent = input.sent.get(clusterIndex);
    if (!sent) throw new Error(`closeRound: no weights sent to cluster ${clusterIndex}`);
    const list = input.updates.filter((u) => u.clusterIndex === clusterIndex);
    const result = screenClusterUpdates(sent, list, input.policy);
    for (const d of result.dropped) {
      dropped.push({ ...d, clusterIndex });
      out.add(d.clientId);
    }
    if (result.consensus !== undefined && !result.directionChecked) unscreened.push({ clusterIndex, updates: result.kept.length, consensus: result.consensus });
  }
  return { kept: input.updates.filter((u) => !out.has(u.clientId)), dropped, unscreened };
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

/** Clusters that have nothing of this round to teach: no accepted update reached them, or their Stage 1 was rolled back. */
function withoutTeachingOf(models: readonly ClusterModel[], accepted: readonly ReceivedUpdate[], rollbacks: readonly Rollback[]): Map<number, string> {
  const withoutTeaching = new Map<number, string>();
  for (const m of models) {
    if (rollbacks.some((r) => r.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'its Stage 1 result was rolled back this round');
    else if (!accepted.some((u) => u.clusterIndex === m.clusterIndex)) withoutTeaching.set(m.clusterIndex, 'no accepted update reached it this round');
  }
  return withoutTeaching;
}

/** `models` plus the carried changes of the clusters that kept their index and width (a re-clustered one starts over). */
function addCarried(models: readonly ClusterModel[], carried: CarriedServerStep): ClusterModel[] {
  return models.map((m) => {
    const c = carried.changes.find((x) => x.clusterIndex === m.clusterIndex && x.widthRatio === m.widthRatio && x.delta.length === m.weights.length);
    if (!c) return m;
    const weights = new Float32Array(m.weights.length);
    for (let i = 0; i < weights.length; i++) weights[i] = (m.weights[i] as number) + (c.delta[i] as number);
    return { ...m, weights };
  });
}

/** What the server step changed, per cluster (zero where it kept the model). */
function changesOf(before: readonly ClusterModel[], after: readonly ClusterModel[]): CarriedChange[] {
  return after.map((m, k) => {
    const b = (before[k] as ClusterModel).weights;
    const delta = new Float32Array(b.length);
    for (let i = 0; i < delta.length; i++) delta[i] = (m.weights[i] as number) - (b[i] as number);
    return { clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, delta };
  });
}

export async function closeRound(strategy: Strategy, input: CloseInput): Promise<RoundOutcome> {
  validateRoundPolicy(input.policy, 'closeRound');
  const now = input.now ?? (() => Date.now());
  const start = strategy.clusterModels();
  const limits = start.map((m) => ({ clusterIndex: m.clusterIndex, ...changeLimit(m.weights, input.history.get(m.clusterIndex) ?? [], input.policy) }));
  const { kept, dropped, unscreened } = screen(input);
  const { accepted, capped } = capClaims(kept, input.policy);
  const rollbacks: Rollback[] = [];
  const t0 = now();
  // A cluster whose average breaks an invariant keeps the model it started the round with.
  const stage1 = enforce('stage1', start, strategy.stage1(accepted), start, limits, rollbacks);
  const t1 = now();
  let final = stage1;
  let teachers: RoundOutcome['teachers'] = [];
  let serverStepStats: Record<string, number> = {};
  // Overlap: the previous round's server step, finished meanwhile, adds its change; a cluster it would carry past an invariant keeps its Stage 1.
  if (input.carried) {
    final = enforce('stage2', start, addCarried(stage1, input.carried), stage1, limits, rollbacks);
    teachers = input.carried.teachers;
    serverStepStats = { ...input.carried.stats, carriedFromRound: input.carried.round, carriedStepMs: input.carried.ms };
  }
  const serverStep = stage1.length > 1 ? strategy.serverStep : undefined;
  let deferred: DeferredServerStep | undefined;
  if (serverStep && input.deferServerStep) {
    const base = final;
    const withoutTeaching = withoutTeachingOf(base, accepted, rollbacks);
    let ran = false;
    deferred = {
      round: input.round,
      run: async () => {
        if (ran) throw new Error(`closeRound: round ${input.round}'s deferred server step already ran`);
        ran = true;
        const s0 = now();
        const report = await serverStep(input.round, base.map((m) => ({ ...m })), { withoutTeaching });
        return { round: input.round, changes: changesOf(base, report.models), teachers: report.teachers ?? [], stats: report.stats, ms: now() - s0 };
      },
    };
  } else if (serverStep) {
    const before = final;
    const report = await serverStep(input.round, before, { withoutTeaching: withoutTeachingOf(before, accepted, rollbacks) });
    // A cluster whose server-step result breaks an invariant keeps what it had before the step.
    final = enforce('stage2', start, report.models, before, limits, rollbacks);
    teachers = report.teachers ?? [];
    serverStepStats = { ...serverStepStats, ...report.stats };
  }
  const t2 = now();
  strategy.adopt(final);
  return {
    models: strategy.clusterModels(), accepted, dropped, unscreened, capped, rollbacks, teachers, limits,
    changes: final.map((m, k) => ({ clusterIndex: m.clusterIndex, change: l2Distance((start[k] as ClusterModel).weights, m.weights) })),
    stage1Ms: t1 - t0, serverStepMs: t2 - t1, serverStepStats, ...(deferred ? { deferred } : {}),
  };
}
