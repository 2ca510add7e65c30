/** Messages between the generator trainer's main thread and its gradient workers. */
import type { TrainerOptions } from '@fedtsa/core/diffusion/trainer';
import type { UNetConfig } from '@fedtsa/core/diffusion/unet';

export interface GradWorkerInit {
  config: UNetConfig;
  options: TrainerOptions;
  scheduleSteps: number;
  seed: number;
  /** model.json and weights of the checkpoint to resume from, if any. */
  resume?: { modelJson: string; weights: Uint8Array };
}

export type GradRequest =
  | { kind: 'grads'; images: Float32Array; labels: Uint8Array; seed: number }
  | { kind: 'apply'; names: string[]; grads: Float32Array[] };

export type GradReply =
  | { kind: 'ready' }
  | { kind: 'grads'; loss: number; names: string[]; grads: Float32Array[] }
  | { kind: 'applied'; step: number }
  | { kind: 'error'; error: string };
