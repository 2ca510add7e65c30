/**
 * Builds Stage 2 for the simulation: a synthetic source that samples the generator on the
 * training workers (idle while the server runs Stage 2) and keeps every chunk it draws in a
 * disk cache, the pool, and the server step.
 *
 * The chunks (core stage2/chunked-source.ts) depend only on (generator, steps, guidance,
 * labels, seed), never on the number of workers, so a chunk drawn once by any run (another
 * strategy, a tuning sweep, a rerun after a crash) is read back instead of regenerated, and the
 * coordinator draws the same pool. The cache is keyed by the checkpoint's own bytes, so a
 * retrained generator never reads another's images.
 */
import type { ModelSpec } from '@fedtsa/core/architecture';
import { ChunkedSource } from '@fedtsa/core/stage2/chunked-source';
import { cachingSampler, type GeneratorKey } from '@fedtsa/core/stage2/pool-store';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { createEnsembleDistillationStep, FEDDF_DEFAULTS, publicPoolOfRound } from '@fedtsa/core/stage2/ensemble-distillation';
import { resolveMutualLearningOptions } from '@fedtsa/core/stage2/mutual-learning';
import { createStage2Step, stage2Seed } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import type { ServerStep } from '@fedtsa/core/strategy/types';
import { readCheckpointFiles } from '@fedtsa/node-io/checkpoint-files';
import { checkpointIdentity, DiskPoolStore } from '@fedtsa/node-io/pool-store-disk';
import { sharedParallelMutualLearning } from '@fedtsa/node-io/parallel-mutual-learning';
import type { Stage2Config } from './config.ts';
import type { WorkerPool } from './pool.ts';

export interface SourceStats {
  /** Samples drawn by the generator, and read from the cache. */
  generated: number;
  cached: number;
}

/** The generator's chunks (core stage2/chunked-source.ts), drawn on the training workers and kept in a disk pool store (node-io pool-store-disk.ts). */
export class WorkerPoolSource extends ChunkedSource {
  readonly stats: SourceStats;

  constructor(workers: WorkerPool, config: Stage2Config) {
    const files = readCheckpointFiles(config.generatorDir);
    if (!files) {
      throw new Error(`strategy 'fedtsa' needs a generator checkpoint in ${config.generatorDir} (make one with npm run train-generator, or pass --generator DIR)`);
    }
    const modelJson = JSON.parse(files.modelJson) as { modelTopology?: { config?: { imageShape?: [number, number, number]; numClasses?: number } } };
    const unet = modelJson.modelTopology?.config;
    if (!unet?.imageShape || !unet.numClasses) throw new Error(`${config.generatorDir}/model.json has no modelTopology.config (imageShape, numClasses)`);
    const [height, width, channels] = unet.imageShape;
    const stats: SourceStats = { generated: 0, cached: 0 };
    const draw = async (labels: Uint8Array, seed: number) => {
      const out = await workers.sample({ generatorDir: config.generatorDir, steps: config.sampleSteps, guidance: config.guidance, labels, seed });
      stats.generated += labels.length;
      return out.images;
    };
    let sampler = draw;
    if (config.cacheDir) {
      const generator: GeneratorKey = { checkpoint: checkpointIdentity(files), steps: config.sampleSteps, guidance: config.guidance };
      const counts = { drawn: 0, read: 0 };
      const cached = cachingSampler(new DiskPoolStore(config.cacheDir), generator, height * width * channels, draw, counts);
      sampler = async (labels, seed) => {
        const images = await cached(labels, seed);
        stats.cached = counts.read;
        return images;
      };
    }
    super(unet.imageShape, unet.numClasses, sampler);
    this.stats = stats;
  }
}

export interface Stage2Handle {
  step: ServerStep;
  source: WorkerPoolSource;
}

function stage2Pool(config: Stage2Config, workers: WorkerPool): { pool: SyntheticPool; source: WorkerPoolSource } {
  const source = new WorkerPoolSource(workers, config);
  // Filled with round 1's seeds as the coordinator's is, whichever round first runs Stage 2 (pool-plan.ts).
  return { pool: new SyntheticPool(source, { size: config.poolSize, refreshFraction: config.refreshFraction, firstRound: 1 }), source };
}

/** `runSeed`: the experiment's seed; Stage 2 derives its own from it as the coordinator does (stage2Seed). */
export function createSimulationStage2(config: Stage2Config, spec: ModelSpec, runSeed: number, workers: WorkerPool): Stage2Handle {
  const { pool, source } = stage2Pool(config, workers);
  return { step: createStage2Step({ spec, pool, mutualLearning: config.mutualLearning, seed: stage2Seed(runSeed), runMutualLearning: sharedParallelMutualLearning().run }), source };
}

/**
 * FedDF's server step with Stage 2's budget (its steps and batch size) on Stage 2's synthetic
 * pool, the same images from the same cache, or on `publicImages` (the experiment's held-out
 * public pool, unlabelled; a fresh draw of the pool's size each round). `source` is absent for the public variant.
 */
export function createSimulationFeddf(
  config: Stage2Config, spec: ModelSpec, runSeed: number, workers: WorkerPool, data: 'synthetic' | 'public', publicImages: LabelledImages,
): { step: ServerStep; source?: WorkerPoolSource } {
  const ml = resolveMutualLearningOptions(config.mutualLearning, 'createSimulationFeddf');
  const options = { ...FEDDF_DEFAULTS, steps: ml.steps, batchSize: ml.batchSize };
  const made = data === 'synthetic' ? stage2Pool(config, workers) : undefined;
  const step = createEnsembleDistillationStep({
    spec, pool: made?.pool ?? publicPoolOfRound(publicImages, config.poolSize, stage2Seed(runSeed)), options, seed: stage2Seed(runSeed),
    runMutualLearning: sharedParallelMutualLearning().run,
  });
  return made ? { step, source: made.source } : { step };
}
