/**
 * The strategies compared in FEDTSA.md: FedAvg at the weakest cluster's width, HeteroFL's
 * nested submodels of one global model, and FedTSA (one model per cluster, Stage 1 = FedAvg
 * inside the cluster, then an optional server step = Stage 2).
 */
import type { ModelSpec } from '../architecture.ts';
import { fedAvg, heteroflAggregate } from '../aggregate.ts';
import { extractSubmodel } from '../submodel.ts';
import type {
  AggregationReport, ClientTask, ClientUpdate, ClusterModel, ClusterSetup, ServerStep, Strategy, StrategyName,
} from './types.ts';

export interface StrategyContext {
  spec: ModelSpec;
  setup: ClusterSetup;
  /** Width-1 initial weights shared by all strategies, so they start from the same point. */
  initialWeights: Float32Array;
  /** Stage 2 for 'fedtsa'; required there, ignored elsewhere. */
  serverStep?: ServerStep;
  now?: () => number;
}

function clusterOf(setup: ClusterSetup): Map<string, number> {
  const map = new Map<string, number>();
  for (const c of setup.clusters) for (const id of c.memberIds) map.set(id, c.index);
  return map;
}

function requireCluster(membership: Map<string, number>, clientId: string, fn: string): number {
  const index = membership.get(clientId);
  if (index === undefined) throw new Error(`${fn}: client '${clientId}' is in no cluster`);
  return index;
}

function groupByCluster(updates: readonly ClientUpdate[]): Map<number, ClientUpdate[]> {
  const groups = new Map<number, ClientUpdate[]>();
  for (const u of updates) groups.set(u.clusterIndex, [...(groups.get(u.clusterIndex) ?? []), u]);
  return groups;
}

/** FedTSA: a model per cluster at the cluster's width; Stage 1 per cluster, then Stage 2. */
class ClusterStrategy implements Strategy {
  private models: ClusterModel[];
  private readonly membership: Map<string, number>;

  constructor(readonly name: StrategyName, private readonly ctx: StrategyContext) {
    if (name === 'fedtsa' && !ctx.serverStep) throw new Error("createStrategy: 'fedtsa' needs a serverStep (Stage 2)");
    this.membership = clusterOf(ctx.setup);
    this.models = ctx.setup.clusters.map((c) => ({
      clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds,
      weights: extractSubmodel(ctx.initialWeights, ctx.spec, c.widthRatio),
    }));
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    return participantIds.map((clientId) => {
      const model = this.models[requireCluster(this.membership, clientId, 'tasks')] as ClusterModel;
      return { clientId, clusterIndex: model.clusterIndex, widthRatio: model.widthRatio, weights: model.weights };
    });
  }

  async aggregate(round: number, updates: readonly ClientUpdate[]): Promise<AggregationReport> {
    const now = this.ctx.now ?? (() => Date.now());
    const t0 = now();
    for (const [index, group] of groupByCluster(updates)) {
      const model = this.models[index] as ClusterModel;
      model.weights = fedAvg(group);
    }
    const t1 = now();
    let serverStepStats: Record<string, number> = {};
    if (this.name === 'fedtsa' && this.ctx.serverStep && this.models.length > 1) {
      const report = await this.ctx.serverStep(round, this.models);
      this.models = report.models;
      serverStepStats = report.stats;
    }
    return { stage1Ms: t1 - t0, serverStepMs: now() - t1, serverStepStats };
  }

  clusterModels(): ClusterModel[] {
    return this.models;
  }
}

/** FedAvg-small: one model at the weakest cluster's width for everybody. */
class SmallStrategy implements Strategy {
  readonly name = 'fedavg-small' as const;
  private weights: Float32Array;
  private readonly widthRatio: number;
  private readonly membership: Map<string, number>;

  constructor(private readonly ctx: StrategyContext) {
    this.membership = clusterOf(ctx.setup);
    this.widthRatio = Math.min(...ctx.setup.clusters.map((c) => c.widthRatio));
    this.weights = extractSubmodel(ctx.initialWeights, ctx.spec, this.widthRatio);
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    return participantIds.map((clientId) => ({
      clientId, clusterIndex: requireCluster(this.membership, clientId, 'tasks'), widthRatio: this.widthRatio, weights: this.weights,
    }));
  }

  async aggregate(_round: number, updates: readonly ClientUpdate[]): Promise<AggregationReport> {
    const t0 = Date.now();
    if (updates.length > 0) this.weights = fedAvg(updates);
    return { stage1Ms: Date.now() - t0, serverStepMs: 0, serverStepStats: {} };
  }

  clusterModels(): ClusterModel[] {
    return this.ctx.setup.clusters.map((c) => ({ clusterIndex: c.index, widthRatio: this.widthRatio, weights: this.weights, memberIds: c.memberIds }));
  }
}

/** HeteroFL: one width-1 global model; cluster k trains its width-r_k nested submodel. */
class HeteroflStrategy implements Strategy {
  readonly name = 'heterofl' as const;
  private global: Float32Array;
  private readonly membership: Map<string, number>;

  constructor(private readonly ctx: StrategyContext) {
    this.global = ctx.initialWeights.slice();
    this.membership = clusterOf(ctx.setup);
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    const cache = new Map<number, Float32Array>();
    return participantIds.map((clientId) => {
      const cluster = this.ctx.setup.clusters[requireCluster(this.membership, clientId, 'tasks')] as ClusterSetup['clusters'][number];
      let weights = cache.get(cluster.widthRatio);
      if (!weights) cache.set(cluster.widthRatio, (weights = extractSubmodel(this.global, this.ctx.spec, cluster.widthRatio)));
      return { clientId, clusterIndex: cluster.index, widthRatio: cluster.widthRatio, weights };
    });
  }

  async aggregate(_round: number, updates: readonly ClientUpdate[]): Promise<AggregationReport> {
    const t0 = Date.now();
    if (updates.length > 0) this.global = heteroflAggregate(this.global, updates, this.ctx.spec);
    return { stage1Ms: Date.now() - t0, serverStepMs: 0, serverStepStats: {} };
  }

  clusterModels(): ClusterModel[] {
    return this.ctx.setup.clusters.map((c) => ({
      clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds,
      weights: extractSubmodel(this.global, this.ctx.spec, c.widthRatio),
    }));
  }
}

export function createStrategy(name: StrategyName, ctx: StrategyContext): Strategy {
  switch (name) {
    case 'fedavg-small': return new SmallStrategy(ctx);
    case 'heterofl': return new HeteroflStrategy(ctx);
    case 'fedtsa-stage1':
    case 'fedtsa': return new ClusterStrategy(name, ctx);
    default: throw new Error(`createStrategy: unknown strategy '${String(name)}'`);
  }
}
