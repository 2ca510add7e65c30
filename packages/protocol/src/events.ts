/**
 * Typed socket.io events. The coordinator passes every generic:
 *   Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, ClientSocketData>
 * Requests that need an answer take an acknowledgement callback (clients use emitWithAck
 * with a timeout); the answer is an Ack: a value or a coded refusal.
 */
import type { TaskDefinition } from '@fedtsa/core/task';
import type { EncodedWeights } from './codec.ts';
import type { Ack, ProtocolError } from './errors.ts';
import type { CapabilityReport, Heartbeat, Participation, UpdatePayload } from './messages.ts';

/** Namespace of training clients. */
export const CLIENT_NAMESPACE = '/client';
/** Namespace of the dashboard (admin token required). */
export const DASHBOARD_NAMESPACE = '/dashboard';

/**
 * The run's task (core task.ts TaskDefinition): its name, input shape, class names,
 * normalisation and model sizes. A client builds its model, its benchmark and its data from it.
 */
export type { TaskDefinition as WireTask } from '@fedtsa/core/task';

export interface Welcome {
  clientId: string;
  /** Secret that, with the id, resumes this identity after a reconnect. */
  clientSecret: string;
  runId: string;
  resumed: boolean;
  /** The run's task (protocol 3; protocol 2 sent only `spec`). */
  task: TaskDefinition;
  /**
   * Whether the server scores the models itself. false: it has no test set for this task, and a
   * client scores the model it receives on a held-out part of its data before training and
   * reports it with its update (`evaluation`, see docs/protocol.md).
   */
  serverEvaluates: boolean;
  /** Present when the coordinator serves this client a demo shard. */
  demoShard?: { samples: number };
  /** The run's participation policy (protocol 4): train only while charging, only while the page is visible. The user may add to it, never relax it. */
  participation: ParticipationPolicy;
}

export interface ParticipationPolicy {
  requireCharging: boolean;
  requireVisible: boolean;
}

export interface Assignment {
  clusterIndex: number;
  widthRatio: number;
  clusters: number;
}

export interface TrainingTask {
  runId: string;
  round: number;
  /** A nonce for this client and round; the update must carry it back. */
  taskId: string;
  clusterIndex: number;
  widthRatio: number;
  /** Wall-clock deadline (ms since epoch) by which the update must arrive. */
  deadline: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  weights: EncodedWeights;
}

export interface DemoShard {
  /** [n, h, w, c] pixels 0-255 (a quarter of the bytes of float32; divide by 255). */
  images: ArrayBuffer | Uint8Array;
  labels: ArrayBuffer | Uint8Array;
  count: number;
}

export interface RoundClosed {
  runId: string;
  round: number;
  /** Whether this client's update made it into the round. */
  accepted: boolean;
  /**
   * Set when an update acknowledged on arrival was dropped when the round closed: the update
   * check compares every update with the median of the others once they are all in.
   */
  refusal?: ProtocolError;
}

export interface ClientToServerEvents {
  capability: (report: CapabilityReport, ack: (res: Ack<Assignment | { waiting: true }>) => void) => void;
  'demo-shard': (req: Record<string, never>, ack: (res: Ack<DemoShard>) => void) => void;
  update: (payload: UpdatePayload, ack: (res: Ack<{ accepted: true; round: number }>) => void) => void;
  heartbeat: (beat: Heartbeat) => void;
  /** Whether the client can take part now (protocol 4); see messages.ts Participation. */
  participation: (state: Participation) => void;
  leave: () => void;
}

export interface ServerToClientEvents {
  welcome: (welcome: Welcome) => void;
  assignment: (assignment: Assignment) => void;
  task: (task: TrainingTask) => void;
  'round-closed': (info: RoundClosed) => void;
  'run-state': (state: { runId: string; state: RunState; round: number }) => void;
  refused: (error: ProtocolError) => void;
}

/** For socket.io's Redis adapter when the coordinator spreads over several machines. */
export interface InterServerEvents {
  ping: () => void;
}

export interface ClientSocketData {
  runId: string;
  clientId: string;
}

export type RunState = 'created' | 'running' | 'paused' | 'stopped' | 'completed';
