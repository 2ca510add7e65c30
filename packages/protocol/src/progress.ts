/**
 * What a participant may read about its run (GET /api/runs/:id/progress, with its own client id
 * and secret): each round's per-cluster accuracy, which cluster the asking device was in, and
 * counts of devices. Nothing names or locates another client: only counts. One TypeBox schema
 * gives the page's guard and the static type.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** Path of the route; `:id` is the run. */
export const PROGRESS_ROUTE = '/api/runs/:id/progress';

/**
 * The asking participant's cluster model as it stands (after the last closed round): the body is
 * its weights, float32 little-endian in the manifest order of its width (core modelManifest of the
 * run's task); the headers below say which cluster, which width and through which round.
 */
export const YOUR_MODEL_ROUTE = '/api/runs/:id/progress/model';
export const MODEL_HEADERS = { clusterIndex: 'x-fedtsa-cluster-index', widthRatio: 'x-fedtsa-width-ratio', trainedThrough: 'x-fedtsa-trained-through' } as const;

const Count = Type.Integer({ minimum: 0 });

export const ClusterProgress = Type.Object({
  clusterIndex: Count,
  widthRatio: Type.Number(),
  /** Devices in the cluster this round, and updates that made it into its model. */
  members: Count,
  updates: Count,
  /** 0-1. 'server': the round's final model on the server's test set; 'clients': the received model on the members' held-out data. */
  accuracy: Type.Number(),
  evaluatedBy: Type.Union([Type.Literal('server'), Type.Literal('clients')]),
}, { additionalProperties: false });
export type ClusterProgress = Static<typeof ClusterProgress>;

export const RoundProgress = Type.Object({
  round: Type.Integer({ minimum: 1 }),
  /** Devices asked to train this round. */
  participants: Count,
  /** The cluster the asking device belonged to this round, or null when it was in none (it joined later). */
  yourCluster: Type.Union([Count, Type.Null()]),
  /** Round 1 only, when measured: the starting model's accuracy per cluster (the curve's round 0). */
  startAccuracy: Type.Optional(Type.Array(Type.Object({ clusterIndex: Count, accuracy: Type.Number() }, { additionalProperties: false }))),
  clusters: Type.Array(ClusterProgress),
}, { additionalProperties: false });
export type RoundProgress = Static<typeof RoundProgress>;

export const RunProgress = Type.Object({
  runId: Type.String(),
  state: Type.Union([Type.Literal('created'), Type.Literal('running'), Type.Literal('paused'), Type.Literal('stopped'), Type.Literal('completed')]),
  /** Rounds the run is set to, and rounds closed so far. */
  rounds: Count,
  completedRound: Count,
  devices: Type.Object({
    /** Connected, training, or gone for less than the client grace. */
    live: Count,
    /** Every identity that ever joined the run. */
    joined: Count,
  }, { additionalProperties: false }),
  /** The asking device's cluster in the clustering in force, or null before it has one. */
  yourCluster: Type.Union([Count, Type.Null()]),
  history: Type.Array(RoundProgress),
}, { additionalProperties: false });
export type RunProgress = Static<typeof RunProgress>;

const checker = TypeCompiler.Compile(RunProgress);
export const isRunProgress = (value: unknown): value is RunProgress => checker.Check(value);
