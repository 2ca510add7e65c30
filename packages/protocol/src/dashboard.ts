/**
 * What the dashboard receives: REST bodies of /api/runs and the '/dashboard' namespace's
 * 'run' event share these shapes, so the coordinator and the dashboard page cannot drift.
 */
import type { RunState } from './events.ts';

export interface ClientSummary {
  id: string;
  samplesPerSec: number;
  backend: string;
  label: string;
  clusterIndex: number | null;
  widthRatio: number | null;
  demoShard: number | null;
  status: 'connected' | 'training' | 'unavailable' | 'disconnected' | 'left';
  lastSeen: number;
  joinedAt: number;
}

export interface ClusteringSummary {
  /** Capability (samples/s) at the valleys between clusters. */
  boundaries: number[];
  /** The KDE curve: x in samples/s (log-spaced), density over ln(samples/s). */
  grid: { x: number[]; density: number[] };
  clusters: { index: number; widthRatio: number; memberIds: string[] }[];
  /** Why each cluster has its width (absent where the coordinator cannot say, e.g. an empty cluster). */
  widthReasons?: ClusterWidthReason[];
}

/**
 * A cluster's width explained (core width-policy.ts): the widest rung on which its slow end
 * trains a round's samples within the round's budget, raised when needed so that a faster
 * cluster never has a narrower model than a slower one. From the members' current speed reports.
 */
export interface ClusterWidthReason {
  clusterIndex: number;
  widthRatio: number;
  /** 10th percentile of the members' speeds, samples/s at width 1. */
  slowEndSamplesPerSec: number;
  roundBudgetSec: number;
  /** Samples a member trains per round (local epochs x expected samples per client). */
  samplesPerRound: number;
  /** Estimated local-training time of the slow end at widthRatio (cost ~ width^2). */
  estimatedSec: number;
  /** The widest rung the slow end fits in the budget on its own; below widthRatio when rank order raised the width. */
  fittingWidth: number;
}

export interface ClusterRoundMetric {
  clusterIndex: number;
  widthRatio: number;
  members: number;
  updates: number;
  accuracy: number;
  loss: number;
  /** Round 1 only: the starting model's accuracy and loss (the curve's round 0). */
  startAccuracy?: number;
  startLoss?: number;
  /**
   * 'clients' (federated evaluation: the task has no server test set): accuracy and loss are the
   * clients' scores of the model they RECEIVED this round (the previous round's result) on their
   * held-out data, weighted by `evaluatedImages`. Absent: the server scored the round's final model.
   */
  evaluatedBy?: 'server' | 'clients';
  evaluatedImages?: number;
}

/**
 * Something the round's safeguards did: an update refused or dropped, a client's averaging
 * weight capped, a cluster model kept out of Stage 2's teachers, or a step rolled back because
 * its result broke an invariant. The dashboard lists them; the log has the same at warn level.
 */
export interface RoundIncident {
  kind: 'update-refused' | 'update-dropped' | 'weight-capped' | 'teacher-excluded' | 'stage1-rolled-back' | 'stage2-rolled-back'
    /** A participant said it cannot take part (policy not met) and the round stopped waiting for it. */
    | 'participant-withdrew'
    /** An accepted update was computed on a fallback backend after the first one failed mid-round. */
    | 'backend-fallback'
    /** A cluster's updates did not agree on a direction, so the direction screen did not run on them (docs/robustness.md). */
    | 'direction-check-skipped';
  clusterIndex: number;
  clientId?: string;
  /** The refusal's code, for refused and dropped updates. */
  code?: string;
  message: string;
  /** The measured figures behind the decision (distance, limit, accuracy, ...). */
  numbers?: Record<string, number>;
}

export interface RoundSummary {
  round: number;
  startedAt: number;
  /** When the round's client phase ended and its close began (absent in rounds saved before it was recorded). */
  clientsDoneAt?: number;
  closedAt: number;
  stage1Ms: number;
  stage2Ms: number;
  stage2Stats: Record<string, number>;
  participants: number;
  updatesAccepted: number;
  updatesRefused: number;
  clusters: ClusterRoundMetric[];
  meanAccuracy: number;
  /** What the safeguards refused, capped, excluded or rolled back this round (absent in rounds saved before they existed). */
  incidents?: RoundIncident[];
}

export interface RunSummary {
  id: string;
  name: string;
  state: RunState;
  joinToken: string;
  settings: Record<string, unknown> & { rounds: number; roundDeadlineMs: number };
  completedRound: number;
  currentRound: number;
  roundDeadline: number | null;
  createdAt: number;
  clustering: ClusteringSummary | null;
  clients: ClientSummary[];
  /** The background generation of the run's synthetic pool; null for a run without Stage 2 (absent from coordinators before it existed). */
  pool?: PoolProgress | null;
}

/**
 * A run's synthetic pool as the coordinator's generation worker makes it, ahead of the rounds:
 * the fill first, then every later round's refresh. A round uses what is made when it closes
 * (its stage2Stats say poolReady of poolTarget, and stage2Skipped when too little was made).
 */
export interface PoolProgress {
  /**
   * 'waiting' before the worker took the run up; 'ahead' when made as far ahead of the run as
   * the coordinator makes it (a few rounds), until the run moves on; 'ready' once the pool of
   * every round up to the run's last is made.
   */
  state: 'waiting' | 'generating' | 'ahead' | 'ready' | 'failed';
  /** Samples of the fill made, of the pool's size. */
  fillReady: number;
  fillTarget: number;
  /** Samples made of all planned: the fill and the refreshes of every round up to the run's last. */
  imagesReady: number;
  imagesTarget: number;
  /** The last round whose pool is made in full (0 while the fill is incomplete). */
  readyThroughRound: number;
  /** Of imagesReady: drawn by this process's generator, and found in the pool store (a restart, another run). */
  imagesGenerated: number;
  imagesReused: number;
  /** Over the images drawn by this process; null before the first chunk. */
  imagesPerSec: number | null;
  error?: string;
}

/**
 * A one-use device join token as GET /api/runs/:id/device-tokens lists it (and DELETE answers
 * with it): its public id is a prefix of the token's hash, which does not let anyone join.
 */
export interface DeviceToken {
  id: string;
  label: string;
  status: 'unused' | 'used' | 'revoked';
  createdAt: number;
  /** The client identity that joined with it. */
  usedBy: string | null;
  usedAt: number | null;
  revokedAt: number | null;
}

/** A device token as POST /api/runs/:id/device-tokens creates it: the only time the token itself is sent. */
export type NewDeviceToken = DeviceToken & { token: string };

/** The dashboard namespace pushes a run's summary with its rounds whenever either changes. */
export interface DashboardRun extends RunSummary {
  rounds: RoundSummary[];
}

export interface DashboardServerEvents {
  run: (run: DashboardRun) => void;
}

/**
 * GET /api/tasks and POST /api/tasks: a task the coordinator can train (apps/coordinator
 * tasks/task-catalog.ts). `serverEvaluates` false: the server has no test set for it, and the
 * clients score the model they receive on their held-out data (federated evaluation).
 */
export interface TaskSummary {
  name: string;
  /** [height, width, channels] */
  inputShape: [number, number, number];
  classNames: string[];
  /** 'built-in', or the folder it was loaded from. */
  source: string;
  trainImages: number;
  testImages: number;
  serverEvaluates: boolean;
  /** Its Stage 2 generator (a checkpoint folder), or null: its runs are Stage 1 only, for the reason in stage2Off. */
  generator: string | null;
  stage2Off?: string;
}
