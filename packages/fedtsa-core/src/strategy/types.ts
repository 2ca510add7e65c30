/**
 * One interface for every federated strategy, used by the simulation and the coordinator.
 * A strategy owns the server-side models; the runner owns clients, data and scheduling.
 */
import type { KdeClustering } from '../kde.ts';
import type { TeacherScreen } from '../stage2/teachers.ts';

export type StrategyName = 'fedavg-small' | 'heterofl' | 'fedrolex' | 'fjord' | 'feddf' | 'fedtsa-stage1' | 'fedtsa';
export const STRATEGY_NAMES: readonly StrategyName[] = ['fedavg-small', 'heterofl', 'fedrolex', 'fjord', 'feddf', 'fedtsa-stage1', 'fedtsa'];
/** Strategies whose round ends with a server step after Stage 1 (their runner must supply it). */
export const SERVER_STEP_STRATEGIES: readonly StrategyName[] = ['feddf', 'fedtsa'];

export interface ClientProfile {
  id: string;
  /** Training throughput of the width-1 reference model, samples/s. */
  samplesPerSec: number;
  /** Local training samples. */
  numSamples: number;
}

export interface ClusterPlan {
  index: number;
  /** Width ratio the cluster's capability affords (ladder rung). */
  widthRatio: number;
  memberIds: string[];
}

export interface ClusterSetup {
  clusters: ClusterPlan[];
  kde: KdeClustering;
}

/** Changes to plain local training that a strategy asks for (HeteroFL's scaler and masked loss: train-heterofl.ts). */
export interface TrainingChanges {
  /** Hidden layers' pre-activations times this during training (TrainOptions.activationScale). */
  activationScale?: number;
  /** Logits of classes absent from the client's data are 0 in the loss (TrainOptions.maskAbsentClasses). */
  maskAbsentClasses?: boolean;
}

/** What a strategy asks one client to train in a round (the wire's TrainingTask, in @fedtsa/protocol, adds the schedule and encoded weights). */
export interface ClientTask {
  clientId: string;
  clusterIndex: number;
  widthRatio: number;
  weights: Float32Array;
  /** Absent: plain training. The simulator passes these on; the coordinator's wire does not carry them yet. */
  training?: TrainingChanges;
}

export interface ClientUpdate {
  clientId: string;
  clusterIndex: number;
  widthRatio: number;
  weights: Float32Array;
  numSamples: number;
}

/** A model that is evaluated and served for one cluster. Several clusters may share one. */
export interface ClusterModel {
  clusterIndex: number;
  widthRatio: number;
  weights: Float32Array;
  memberIds: string[];
}

/**
 * A server-side step after Stage 1 (Stage 2 plugs in here). Returns the updated models.
 * `withoutTeaching`: clusters whose model must not teach this round, with the reason (for
 * example, nobody's update reached it, or its Stage 1 was rolled back).
 */
export type ServerStep = (round: number, models: ClusterModel[], context?: { withoutTeaching?: ReadonlyMap<number, string> }) => Promise<ServerStepReport>;

export interface ServerStepReport {
  models: ClusterModel[];
  /** Stage 2's screen of each cluster model as a teacher (stage2/teachers.ts), when the rule is on. */
  teachers?: (TeacherScreen & { clusterIndex: number; learned: boolean })[];
  /** Named durations and figures for the round report, e.g. { generationMs, mutualLearningMs }. */
  stats: Record<string, number>;
}

/**
 * A strategy owns the server-side models between rounds; the round (round/close.ts) drives it:
 * Stage 1 proposes models from the screened updates, the round checks them (invariants), runs
 * the server step on what it kept, checks again, and hands the final models back to `adopt`.
 */
export interface Strategy {
  readonly name: StrategyName;
  /** Tasks for the given participants (client ids must belong to a cluster). */
  tasks(participantIds: readonly string[]): ClientTask[];
  /** The models in force, one per cluster in cluster order (several clusters may share one). */
  clusterModels(): ClusterModel[];
  /**
   * Stage 1: the models this round's updates propose, one per cluster in clusterModels() order
   * (a cluster no update reached keeps its model). Nothing changes until `adopt`.
   */
  stage1(updates: readonly ClientUpdate[]): ClusterModel[];
  /** The step after Stage 1 (FedTSA's Stage 2); absent for strategies without one. */
  readonly serverStep?: ServerStep;
  /**
   * Adopts the round's final models: per cluster, the one the round kept (a proposal, a server
   * step's result, or, after a rollback, the model it started from).
   */
  adopt(models: readonly ClusterModel[]): void;
  /**
   * The models a cluster's devices would use between rounds, when they differ from the ones
   * served for the next round's training (FedRolex: the window last trained, not the one about to
   * roll in). Absent: clusterModels(). Evaluation reads this.
   */
  evaluatedModels?(): ClusterModel[];
  /** The width-1 global model of strategies that keep one (HeteroFL, FedRolex, FjORD), which their papers evaluate. */
  globalWeights?(): Float32Array;
}
