/**
 * The DDPM behind the SyntheticDataSource interface: samples with the EMA weights of a
 * checkpoint by guided DDIM. A deployment with a GPU can put a bigger generator behind the
 * same interface.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledImages } from '../data/dataset.ts';
import type { SyntheticDataSource } from '../stage2/synthetic-source.ts';
import type { DdpmCheckpoint } from './checkpoint.ts';
import { ddimSample, type SampleOptions } from './ddpm.ts';
import { cosineSchedule, type NoiseSchedule } from './schedule.ts';
import { unetParamShapes, type UNetConfig, type UNetParams } from './unet.ts';

export const DEFAULT_SAMPLE_OPTIONS: SampleOptions = { steps: 25, guidance: 3, batchSize: 64 };

export class DiffusionGenerator implements SyntheticDataSource {
  readonly imageShape: readonly [number, number, number];
  readonly numClasses: number;
  private readonly schedule: NoiseSchedule;

  private constructor(readonly config: UNetConfig, private readonly params: UNetParams, scheduleSteps: number, readonly sampleOptions: SampleOptions) {
    this.imageShape = config.imageShape;
    this.numClasses = config.numClasses;
    this.schedule = cosineSchedule(scheduleSteps);
  }

  /** Uses the checkpoint's EMA weights. */
  static fromCheckpoint(checkpoint: DdpmCheckpoint, sampleOptions: Partial<SampleOptions> = {}): DiffusionGenerator {
    const params: UNetParams = new Map();
    for (const p of unetParamShapes(checkpoint.config)) {
      const t = checkpoint.tensors.get(`ema/${p.name}`);
      if (!t) throw new Error(`DiffusionGenerator.fromCheckpoint: checkpoint lacks ema/${p.name}`);
      if (t.shape.join(',') !== p.shape.join(',')) throw new Error(`DiffusionGenerator.fromCheckpoint: ema/${p.name} has shape [${t.shape}], expected [${p.shape}]`);
      params.set(p.name, tf.tensor(t.values, p.shape));
    }
    return new DiffusionGenerator(checkpoint.config, params, checkpoint.scheduleSteps, { ...DEFAULT_SAMPLE_OPTIONS, ...sampleOptions });
  }

  async sample(labels: Uint8Array, seed: number): Promise<LabelledImages> {
    for (const l of labels) if (l >= this.numClasses) throw new Error(`DiffusionGenerator.sample: label ${l} is not below numClasses ${this.numClasses}`);
    const images = ddimSample(this.params, this.config, this.schedule, labels, seed, this.sampleOptions);
    const [height, width, channels] = this.imageShape;
    return { images, labels: labels.slice(), count: labels.length, height, width, channels, numClasses: this.numClasses };
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
