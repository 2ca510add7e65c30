/**
 * Training state of the DDPM: raw weights as variables, Adam, an EMA copy for sampling, and
 * the step counter. Gradients come out and go in as plain Float32Arrays so that several
 * threads can each compute them on part of a batch and apply the same average (data
 * parallelism: identical replicas that apply identical updates stay identical).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../rng.ts';
import { diffusionLoss, noiseBatch } from './ddpm.ts';
import type { CheckpointHistoryEntry, DdpmCheckpoint } from './checkpoint.ts';
import type { NoiseSchedule } from './schedule.ts';
import { initUNet, unetParamShapes, type UNetConfig, type UNetParams } from './unet.ts';

export interface TrainerOptions {
  learningRate: number;
  /** EMA decay for the sampling weights. */
  emaDecay: number;
  /** Probability of replacing a label with the null class (classifier-free guidance). */
  labelDropout: number;
}

export const DEFAULT_TRAINER_OPTIONS: TrainerOptions = { learningRate: 1e-3, emaDecay: 0.999, labelDropout: 0.1 };

export type Gradients = Map<string, Float32Array>;

export class DdpmTrainer {
  readonly params: UNetParams;
  readonly ema = new Map<string, Float32Array>();
  step = 0;
  history: CheckpointHistoryEntry[] = [];
  private readonly optimizer: tf.AdamOptimizer;
  private readonly names: string[];

  constructor(readonly config: UNetConfig, readonly schedule: NoiseSchedule, readonly options: TrainerOptions, seed: number) {
    this.params = initUNet(config, seed);
    this.names = unetParamShapes(config).map((p) => p.name);
    for (const name of this.names) this.ema.set(name, (this.params.get(name) as tf.Tensor).dataSync().slice() as Float32Array);
    this.optimizer = tf.train.adam(options.learningRate);
  }

  /** Loss and gradients on one (part of a) batch; randomness from `seed`. */
  computeGradients(images01: Float32Array, labels: Uint8Array, seed: number): { loss: number; grads: Gradients } {
    const [h, w, c] = this.config.imageShape;
    const batch = noiseBatch(images01, labels, [labels.length, h, w, c], this.schedule, this.config.numClasses, this.options.labelDropout, createRng(seed));
    const { value, grads } = tf.variableGrads(() => diffusionLoss(this.params, this.config, batch), [...this.params.values()] as tf.Variable[]);
    const out: Gradients = new Map();
    for (const name of this.names) {
      const g = grads[(this.params.get(name) as tf.Variable).name] as tf.Tensor;
      out.set(name, g.dataSync().slice() as Float32Array);
    }
    const loss = value.dataSync()[0] as number;
    tf.dispose([value, ...Object.values(grads), batch.xt, batch.t, batch.labels, batch.noise]);
    return { loss, grads: out };
  }

  /** One Adam step with the given (averaged) gradients, then the EMA update. */
  applyGradients(grads: Gradients): void {
    // An array keeps Adam's per-variable slots in one fixed order (they are matched by index).
    const named: { name: string; tensor: tf.Tensor }[] = this.names.map((name) => {
      const v = this.params.get(name) as tf.Variable;
      const g = grads.get(name);
      if (!g || g.length !== v.size) throw new Error(`DdpmTrainer.applyGradients: gradient for ${name} is missing or has the wrong size`);
      return { name: v.name, tensor: tf.tensor(g, v.shape) };
    });
    this.optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
    this.step++;
    // Early on, a plain average of few steps beats a 0.999 EMA that still remembers the init.
    const decay = Math.min(this.options.emaDecay, (1 + this.step) / (10 + this.step));
    for (const name of this.names) {
      const raw = (this.params.get(name) as tf.Tensor).dataSync();
      const ema = this.ema.get(name) as Float32Array;
      for (let i = 0; i < ema.length; i++) ema[i] = decay * (ema[i] as number) + (1 - decay) * (raw[i] as number);
    }
  }

  /** EMA weights as tensors, for sampling. The caller disposes them (disposeUNet). */
  emaParams(): UNetParams {
    const shapes = new Map(unetParamShapes(this.config).map((p) => [p.name, p.shape]));
    return new Map(this.names.map((name) => [name, tf.tensor(this.ema.get(name) as Float32Array, shapes.get(name))]));
  }

  async toCheckpoint(notes: Record<string, string | number>): Promise<DdpmCheckpoint> {
    const tensors: DdpmCheckpoint['tensors'] = new Map();
    for (const p of unetParamShapes(this.config)) {
      tensors.set(`ema/${p.name}`, { shape: p.shape, values: (this.ema.get(p.name) as Float32Array).slice() });
      tensors.set(`raw/${p.name}`, { shape: p.shape, values: (this.params.get(p.name) as tf.Tensor).dataSync().slice() as Float32Array });
    }
    const optWeights = await this.optimizer.getWeights();
    optWeights.forEach((w, i) => tensors.set(`opt/${String(i).padStart(4, '0')}`, { shape: w.tensor.shape, values: Float32Array.from(w.tensor.dataSync()) }));
    optWeights[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the rest are live variables
    return { config: this.config, scheduleSteps: this.schedule.steps, step: this.step, tensors, history: this.history, notes };
  }

  /** Restores raw weights, EMA, Adam moments and the step from a checkpoint of the same config. */
  async restore(checkpoint: DdpmCheckpoint): Promise<void> {
    if (JSON.stringify(checkpoint.config) !== JSON.stringify(this.config)) {
      throw new Error('DdpmTrainer.restore: the checkpoint was made with a different U-Net config');
    }
    for (const name of this.names) {
      const raw = checkpoint.tensors.get(`raw/${name}`);
      const ema = checkpoint.tensors.get(`ema/${name}`);
      if (!raw || !ema) throw new Error(`DdpmTrainer.restore: checkpoint lacks raw/ or ema/ ${name}`);
      (this.params.get(name) as tf.Variable).assign(tf.tensor(raw.values, raw.shape));
      this.ema.set(name, ema.values.slice());
    }
    const optNames = [...checkpoint.tensors.keys()].filter((k) => k.startsWith('opt/')).sort();
    if (optNames.length > 0) {
      // Adam's weights: the iteration count first, then m and v per variable, as getWeights() lists them.
      if (optNames.length !== 1 + 2 * this.names.length) throw new Error('DdpmTrainer.restore: optimizer state does not match the parameters');
      const shapes = optNames.map((k) => checkpoint.tensors.get(k) as { shape: number[]; values: Float32Array });
      await this.optimizer.setWeights(this.optimizerWeightNames().map((name, i) => ({
        name, tensor: tf.tensor(shapes[i]!.values, shapes[i]!.shape, i === 0 ? 'int32' : 'float32'),
      })));
    }
    this.step = checkpoint.step;
    this.history = [...checkpoint.history];
  }

  /** The names Adam's getWeights() uses: 'iter', then '<var>/m' for all, then '<var>/v' for all. */
  private optimizerWeightNames(): string[] {
    const varNames = this.names.map((n) => (this.params.get(n) as tf.Variable).name);
    return ['iter', ...varNames.map((n) => `${n}/m`), ...varNames.map((n) => `${n}/v`)];
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.optimizer.dispose();
  }
}
