/**
 * The strategies compared in FEDTSA.md: FedAvg at the weakest cluster's width, HeteroFL's
 * nested submodels of one global model (heterofl.ts), FedRolex's rolling ones (fedrolex.ts), FjORD's ordered
 * dropout (fjord.ts), FedTSA (one model per cluster, Stage 1 = FedAvg inside the cluster,
 * then an optional server step = Stage 2), and FedDF (the same clusters and Stage 1, then
 * ensemble distillation as the server step: stage2/ensemble-distillation.ts). The round (round/close.ts)
 * drives each through the same steps: stage1, the server step, adopt.
 */
import { fedAvg } from '../aggregate.ts';
import { extractSubmodel } from '../submodel.ts';
import { FedrolexStrategy } from './fedrolex.ts';
import { FjordStrategy } from './fjord.ts';
import { HeteroflStrategy } from './heterofl.ts';
import { clusterOf, initialOf, keptAll, requireCluster, type StrategyContext } from './membership.ts';
import { SERVER_STEP_STRATEGIES, type ClientTask, type ClientUpdate, type ClusterModel, type ServerStep, type Strategy, type StrategyName } from './types.ts';

export type { StrategyContext } from './membership.ts';

/** FedTSA and FedDF: a model per cluster at the cluster's width; Stage 1 per cluster, then the server step (Stage 2, or FedDF's distillation). */
class ClusterStrategy implements Strategy {
  private models: ClusterModel[];
  private readonly membership: Map<string, number>;
  readonly serverStep?: ServerStep;

  constructor(readonly name: StrategyName, ctx: StrategyContext) {
    const stepped = SERVER_STEP_STRATEGIES.includes(name);
    if (stepped && !ctx.serverStep) throw new Error(`createStrategy: '${name}' needs a serverStep (${name === 'fedtsa' ? 'Stage 2' : 'its distillation'})`);
    if (stepped) this.serverStep = ctx.serverStep;
    this.membership = clusterOf(ctx.clusters);
    if (ctx.models && ctx.models.length !== ctx.clusters.length) {
      throw new Error(`createStrategy: ${ctx.models.length} starting models for ${ctx.clusters.length} clusters`);
    }
    this.models = ctx.clusters.map((c, k) => ({
      clusterIndex: c.index, widthRatio: c.widthRatio, memberIds: c.memberIds,
      weights: ctx.models?.[k]?.weights ?? extractSubmodel(initialOf(ctx, name), ctx.spec, c.widthRatio),
    }));
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    return participantIds.map((clientId) => {
      const model = this.models.find((m) => m.clusterIndex === requireCluster(this.membership, clientId, 'tasks')) as ClusterModel;
      return { clientId, clusterIndex: model.clusterIndex, widthRatio: model.widthRatio, weights: model.weights };
    });
  }

  stage1(updates: readonly ClientUpdate[]): ClusterModel[] {
    return this.models.map((m) => {
      const group = updates.filter((u) => u.clusterIndex === m.clusterIndex);
      return group.length > 0 ? { ...m, weights: fedAvg(group) } : m;
    });
  }

  adopt(models: readonly ClusterModel[]): void {
    this.models = [...models];
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
  private proposed: { weights: Float32Array; models: ClusterModel[] } | undefined;

  constructor(private readonly ctx: StrategyContext) {
    this.membership = clusterOf(ctx.clusters);
    this.widthRatio = Math.min(...ctx.clusters.map((c) => c.widthRatio));
    this.weights = extractSubmodel(initialOf(ctx, this.name), ctx.spec, this.widthRatio);
  }

  tasks(participantIds: readonly string[]): ClientTask[] {
    return participantIds.map((clientId) => ({
      clientId, clusterIndex: requireCluster(this.membership, clientId, 'tasks'), widthRatio: this.widthRatio, weights: this.weights,
    }));
  }

  stage1(updates: readonly ClientUpdate[]): ClusterModel[] {
    const weights = updates.length > 0 ? fedAvg(updates) : this.weights;
    this.proposed = { weights, models: this.views(weights) };
    return this.proposed.models;
  }

  adopt(models: readonly ClusterModel[]): void {
    // One model for all: it moves only if no cluster's view of it was rolled back.
    if (this.proposed && keptAll(this.proposed.models, models)) this.weights = this.proposed.weights;
    this.proposed = undefined;
  }

  clusterModels(): ClusterModel[] {
    return this.views(this.weights);
  }

  private views(weights: Float32Array): ClusterModel[] {
    return this.ctx.clusters.map((c) => ({ clusterIndex: c.index, widthRatio: this.widthRatio, weights, memberIds: c.memberIds }));
  }
}

export function createStrategy(name: StrategyName, ctx: StrategyContext): Strategy {
  switch (name) {
    case 'fedavg-small': return new SmallStrategy(ctx);
    case 'heterofl': return new HeteroflStrategy(ctx, ctx.heterofl);
    case 'fedtsa-stage1':
    case 'feddf':
    case 'fedtsa': return new ClusterStrategy(name, ctx);
    case 'fedrolex': return new FedrolexStrategy(ctx);
    case 'fjord': return new FjordStrategy(ctx);
    default: throw new Error(`createStrategy: unknown strategy '${String(name)}'`);
  }
}
