/**
 * Builds Stage 2 for the simulation: a synthetic source that samples the generator on the
 * training workers (idle while the server runs Stage 2) and keeps every chunk it draws in a
 * disk cache, the pool, and the server step.
 *
 * A request is cut into fixed chunks of CHUNK samples, chunk j sampled with seed
 * deriveSeed(seed, j). So the images depend only on (generator, steps, guidance, labels,
 * seed), never on the number of workers, and a chunk drawn once by any run (another
 * strategy, a tuning sweep, a rerun after a crash) is read back instead of regenerated.
 * The cache is keyed by the checkpoint's own bytes, so a retrained generator never reads
 * another's images.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '@fedtsa/core/architecture';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { deriveSeed } from '@fedtsa/core/rng';
import { createStage2Step } from '@fedtsa/core/stage2/stage2';
import type { SyntheticDataSource } from '@fedtsa/core/stage2/synthetic-source';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import type { ServerStep } from '@fedtsa/core/strategy/types';
import { readCheckpointFiles } from '@fedtsa/node-io/checkpoint-files';
import type { Stage2Config } from './config.ts';
import type { WorkerPool } from './pool.ts';

/** Samples per chunk: one DDIM batch, and the unit of caching and of work per worker. */
export const CHUNK = 25;

export interface SourceStats {
  /** Samples drawn by the generator, and read from the cache. */
  generated: number;
  cached: number;
}

export class WorkerPoolSource implements SyntheticDataSource {
  readonly imageShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly stats: SourceStats = { generated: 0, cached: 0 };
  private readonly cacheDir: string | undefined;

  constructor(private readonly workers: WorkerPool, private readonly config: Stage2Config) {
    const files = readCheckpointFiles(config.generatorDir);
    if (!files) {
      throw new Error(`strategy 'fedtsa' needs a generator checkpoint in ${config.generatorDir} (make one with npm run train-generator, or pass --generator DIR)`);
    }
    const modelJson = JSON.parse(files.modelJson) as { modelTopology?: { config?: { imageShape?: [number, number, number]; numClasses?: number } } };
    const unet = modelJson.modelTopology?.config;
    if (!unet?.imageShape || !unet.numClasses) throw new Error(`${config.generatorDir}/model.json has no modelTopology.config (imageShape, numClasses)`);
    this.imageShape = unet.imageShape;
    this.numClasses = unet.numClasses;
    if (config.cacheDir) {
      const key = createHash('sha256').update(files.modelJson).update(files.weights).digest('hex').slice(0, 16);
      this.cacheDir = join(config.cacheDir, `${key}-s${config.sampleSteps}-g${config.guidance}`);
      mkdirSync(this.cacheDir, { recursive: true });
    }
  }

  async sample(labels: Uint8Array, seed: number): Promise<LabelledImages> {
    const [height, width, channels] = this.imageShape;
    const per = height * width * channels;
    const images = new Float32Array(labels.length * per);
    const chunks: Promise<void>[] = [];
    for (let start = 0, j = 0; start < labels.length; start += CHUNK, j++) {
      const chunkLabels = labels.slice(start, start + CHUNK);
      const chunkSeed = deriveSeed(seed, j);
      chunks.push(this.chunk(chunkLabels, chunkSeed, per).then((x) => images.set(x, start * per)));
    }
    await Promise.all(chunks);
    return { images, labels: labels.slice(), count: labels.length, height, width, channels, numClasses: this.numClasses };
  }

  private async chunk(labels: Uint8Array, seed: number, per: number): Promise<Float32Array> {
    const file = this.cacheDir && join(this.cacheDir, `${createHash('sha256').update(labels).update(String(seed)).digest('hex').slice(0, 24)}.f32`);
    if (file && existsSync(file)) {
      const bytes = readFileSync(file);
      if (bytes.byteLength === labels.length * per * 4) {
        this.stats.cached += labels.length;
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
    }
    const out = await this.workers.sample({ generatorDir: this.config.generatorDir, steps: this.config.sampleSteps, guidance: this.config.guidance, labels, seed });
    this.stats.generated += labels.length;
    if (file) {
      // Write then rename: a crash never leaves a short file that a later run would trust.
      writeFileSync(`${file}.tmp`, out.images);
      renameSync(`${file}.tmp`, file);
    }
    return out.images;
  }
}

export interface Stage2Handle {
  step: ServerStep;
  source: WorkerPoolSource;
}

export function createSimulationStage2(config: Stage2Config, spec: ModelSpec, seed: number, workers: WorkerPool): Stage2Handle {
  const source = new WorkerPoolSource(workers, config);
  const pool = new SyntheticPool(source, { size: config.poolSize, refreshFraction: config.refreshFraction });
  return { step: createStage2Step({ spec, pool, mutualLearning: config.mutualLearning, seed }), source };
}
