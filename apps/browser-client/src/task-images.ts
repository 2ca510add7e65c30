/**
 * The run's task as the trainer sees it: pixel bytes in the task's shape ([n, h, w, c], 0-255,
 * from a demo shard or the user's own images) become the model's inputs, after checking that
 * they are the shape and the classes the task says.
 */
import type { TaskDefinition } from '@fedtsa/core/task';

/** "32x32 greyscale" / "64x48 colour" (height x width). */
export function describeShape(task: TaskDefinition): string {
  const [height, width, channels] = task.inputShape;
  return `${height}x${width} ${channels === 1 ? 'greyscale' : 'colour'}`;
}

/** Pixel bytes to model inputs, written once in core (task.ts) for the browser and the virtual clients. */
export { taskImages } from '@fedtsa/core/task';

/** Whether own images kept for a task (StoredData's taskName, shape, classNames) still fit it. */
export function convertedFor(task: TaskDefinition, kept: { taskName?: string; shape?: readonly number[]; classNames?: readonly string[] }): boolean {
  return kept.taskName === task.name && kept.shape?.join('x') === task.inputShape.join('x') && kept.classNames?.join('\n') === task.classNames.join('\n');
}

/** Share of the local images held out to score the received model when the server has no test set (Welcome.serverEvaluates false). */
export const LOCAL_HOLDOUT_FRACTION = 0.2;
