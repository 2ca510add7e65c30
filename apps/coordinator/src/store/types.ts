/**
 * Run state behind one interface. The embedded default is SQLite plus checkpoint files
 * (sqlite-store.ts); a shared store (e.g. Postgres or Redis) can implement the same
 * interface to spread the coordinator over several machines.
 */
import type { ClusteringSnapshot } from '@fedtsa/core/round/plan';
import type { ClusterRoundMetric, RoundIncident } from '@fedtsa/protocol/dashboard';
import type { RunState } from '@fedtsa/protocol/events';
import type { RunSettings } from '../runs/settings-schema.ts';

export interface RunRecord {
  id: string;
  name: string;
  settings: RunSettings;
  state: RunState;
  joinToken: string;
  /** Last round whose models and metrics are saved; 0 = none yet. */
  completedRound: number;
  createdAt: number;
  updatedAt: number;
}

export interface ClientRecord {
  runId: string;
  id: string;
  /** Hash of the secret that resumes this identity (never the secret itself). */
  secretHash: string;
  samplesPerSec: number;
  backend: string;
  label: string;
  clusterIndex: number | null;
  widthRatio: number | null;
  /** Index of the demo shard this client trains on, if any. */
  demoShard: number | null;
  /** 'unavailable': connected, but it reported it cannot take part now (participation policy not met). */
  status: 'connected' | 'training' | 'unavailable' | 'disconnected' | 'left';
  lastSeen: number;
  joinedAt: number;
}

export interface ClusterMetric {
  clusterIndex: number;
  widthRatio: number;
  members: number;
  updates: number;
  accuracy: number;
  loss: number;
  /** Round 1 only: the accuracy and loss of the model the cluster started from, before any training. */
  startAccuracy?: number;
  startLoss?: number;
  /** Median distance of this round's accepted updates from the model sent: the next round's reference (and after a restart). */
  medianDistance?: number;
  /** Distance of the saved model from the round's starting model: the history behind the round invariants' limit. */
  modelChange?: number;
  /** The round invariants' limit on that distance this round (a step beyond it was rolled back). */
  maxChange?: number;
  /** Federated evaluation, as the dashboard reads it (protocol dashboard.ts ClusterRoundMetric). */
  evaluatedBy?: ClusterRoundMetric['evaluatedBy'];
  evaluatedImages?: number;
}

export interface RoundRecord {
  runId: string;
  round: number;
  startedAt: number;
  /** When the round's client phase ended and its close began (absent in rounds saved before issue 17): the server's share of the round is closedAt - clientsDoneAt. */
  clientsDoneAt?: number;
  closedAt: number;
  stage1Ms: number;
  stage2Ms: number;
  stage2Stats: Record<string, number>;
  participants: number;
  updatesAccepted: number;
  updatesRefused: number;
  clusters: ClusterMetric[];
  /** Member-weighted mean accuracy over clusters. */
  meanAccuracy: number;
  /** The clustering used in this round (for the dashboard's density plot). */
  clustering: ClusteringSnapshot;
  /** What the round's safeguards refused, capped, excluded or rolled back (absent in rounds saved before they existed). */
  incidents?: RoundIncident[];
}

/** Made by the core's round plan; saved with every round as JSON. */
export type { ClusteringSnapshot };

export interface ClusterModelRecord {
  clusterIndex: number;
  widthRatio: number;
  weights: Float32Array;
  memberIds: string[];
}

/** A one-use join token for one device. Only its hash is kept: the token itself is shown once, at creation. */
export interface DeviceTokenRecord {
  runId: string;
  /** sha256 of the token, hex. */
  tokenHash: string;
  label: string;
  createdAt: number;
  /** The identity that joined with it; null while unused. */
  usedBy: string | null;
  usedAt: number | null;
  revokedAt: number | null;
}

export interface RunStore {
  createRun(run: RunRecord): void;
  getRun(id: string): RunRecord | undefined;
  listRuns(): RunRecord[];
  updateRun(id: string, patch: Partial<Pick<RunRecord, 'state' | 'settings' | 'name'>>): void;

  upsertClient(client: ClientRecord): void;
  getClient(runId: string, clientId: string): ClientRecord | undefined;
  listClients(runId: string): ClientRecord[];
  /**
   * The run's live clients at `now`: connected or training, or gone (disconnected, left) for less
   * than the store's client grace. Everyone else stays in listClients, the history.
   */
  listLiveClients(runId: string, now: number): ClientRecord[];

  createDeviceTokens(tokens: DeviceTokenRecord[]): void;
  listDeviceTokens(runId: string): DeviceTokenRecord[];
  getDeviceToken(runId: string, tokenHash: string): DeviceTokenRecord | undefined;
  /** Marks an unused, unrevoked token used by `clientId`; false when it was used or revoked already (atomic). */
  claimDeviceToken(runId: string, tokenHash: string, clientId: string, at: number): boolean;
  /** Revokes a token (used or not); false when the run has no such token. */
  revokeDeviceToken(runId: string, tokenHash: string, at: number): boolean;

  /**
   * Saves a completed round atomically: its models (files), its metrics and the run's
   * completedRound. After a crash either all of it is visible or none.
   */
  completeRound(round: RoundRecord, models: ClusterModelRecord[]): void;
  listRounds(runId: string): RoundRecord[];
  /** The models saved with the run's last completed round (or the initial models, round 0). */
  loadModels(runId: string, round: number): ClusterModelRecord[] | undefined;
  /** Raw checkpoint bytes of one cluster model, for downloads and tests. */
  readModelBytes(runId: string, round: number, clusterIndex: number): Uint8Array | undefined;

  close(): void;
}
