/**
 * Whether Stage 2's generator can serve a task: its samples must have the task's image shape
 * and its labels the task's classes. The checkpoint's model.json records both
 * (modelTopology.config.imageShape, numClasses).
 */
import type { ModelSpec } from '@fedtsa/core/architecture';
import { join } from 'node:path';
import { readCheckpointFiles } from './checkpoint-files.ts';

/**
 * Where a task's generator is kept unless one is named: checkpoints/<task name>-ddpm (the
 * built-in Fashion-MNIST task's is checkpoints/fmnist-ddpm, its name from before tasks existed).
 */
export function defaultGeneratorDir(taskName: string, root = 'checkpoints'): string {
  return join(root, taskName === 'fashion-mnist' ? 'fmnist-ddpm' : `${taskName}-ddpm`);
}

/** Why the generator in `generatorDir` does not fit `spec`, or undefined when it fits (or is absent: Stage 2 reports that itself). */
export function generatorMismatch(generatorDir: string, spec: ModelSpec): string | undefined {
  const files = readCheckpointFiles(generatorDir);
  if (!files) return undefined;
  let config: { imageShape?: number[]; numClasses?: number } | undefined;
  try {
    config = (JSON.parse(files.modelJson) as { modelTopology?: { config?: typeof config } }).modelTopology?.config;
  } catch (e) {
    return `${generatorDir}/model.json is not valid JSON (${(e as Error).message})`;
  }
  const shape = config?.imageShape?.join('x');
  const want = spec.inputShape.join('x');
  if (shape !== want || config?.numClasses !== spec.numClasses) {
    return `the generator in ${generatorDir} makes ${shape ?? '?'} images of ${config?.numClasses ?? '?'} classes, the task needs ${want} of ${spec.numClasses}` +
      ' (give a checkpoint trained for this task)';
  }
  return undefined;
}

/** Why Stage 2 cannot run for a task with the generator in `generatorDir`: none there, or one of another shape. */
export function stage2Unavailable(generatorDir: string, spec: ModelSpec, taskName: string): string | undefined {
  if (!readCheckpointFiles(generatorDir)) {
    return `task '${taskName}' has no generator in ${generatorDir} (train one: npm run train-generator -- --dataset DIR --out ${generatorDir})`;
  }
  return generatorMismatch(generatorDir, spec);
}
