/** Builds Stage 2 for the simulation: the generator from its checkpoint, a pool, the server step. */
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { createStage2Step } from '@fedtsa/core/stage2/stage2';
import { SyntheticPool } from '@fedtsa/core/stage2/synthetic-pool';
import type { ServerStep } from '@fedtsa/core/strategy/types';
import type { Stage2Config } from './config.ts';
import { readCheckpoint } from '@fedtsa/node-io/checkpoint-files';

export interface Stage2Handle {
  step: ServerStep;
  dispose(): void;
}

export function createSimulationStage2(config: Stage2Config, spec: ModelSpec, seed: number): Stage2Handle {
  const checkpoint = readCheckpoint(config.generatorDir);
  if (!checkpoint) {
    throw new Error(`strategy 'fedtsa' needs a generator checkpoint in ${config.generatorDir} (make one with npm run train-generator, or pass --generator DIR)`);
  }
  const generator = DiffusionGenerator.fromCheckpoint(checkpoint, { steps: config.sampleSteps, guidance: config.guidance });
  const pool = new SyntheticPool(generator, { size: config.poolSize, refreshFraction: config.refreshFraction });
  return {
    step: createStage2Step({ spec, pool, mutualLearning: config.mutualLearning, seed }),
    dispose: () => generator.dispose(),
  };
}
