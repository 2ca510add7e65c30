/**
 * The run's task as the trainer sees it: pixel bytes in the task's shape ([n, h, w, c], 0-255,
 * from a demo shard or the user's own images) become the model's inputs, after checking that
 * they are the shape and the classes the task says.
 */
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import type { TaskDefinition } from '@fedtsa/core/task';

/** "32x32 greyscale" / "64x48 colour" (height x width). */
export function describeShape(task: TaskDefinition): string {
  const [height, width, channels] = task.inputShape;
  return `${height}x${width} ${channels === 1 ? 'greyscale' : 'colour'}`;
}

/** Normalised as the task says ('unit': value / 255); refused when the bytes do not fit the task. */
export function taskImages(task: TaskDefinition, images: Uint8Array, labels: Uint8Array, count: number): LabelledImages {
  const [height, width, channels] = task.inputShape;
  const perImage = height * width * channels;
  const numClasses = task.classNames.length;
  if (images.length !== count * perImage) {
    throw new Error(`taskImages: ${images.length} pixel values for ${count} images, but task '${task.name}' takes ` +
      `${height}x${width}x${channels} = ${perImage} per image`);
  }
  if (labels.length !== count) throw new Error(`taskImages: ${labels.length} labels for ${count} images`);
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new Error(`taskImages: label ${labels[bad]} of image ${bad} is out of range for task '${task.name}' (${numClasses} classes)`);
  if (task.normalisation !== 'unit') throw new Error(`taskImages: normalisation '${String(task.normalisation)}' is not supported here`);
  return { images: Float32Array.from(images, (p) => p / 255), labels: labels.slice(), count, height, width, channels, numClasses };
}

/** Whether own images kept for a task (StoredData's taskName, shape, classNames) still fit it. */
export function convertedFor(task: TaskDefinition, kept: { taskName?: string; shape?: readonly number[]; classNames?: readonly string[] }): boolean {
  return kept.taskName === task.name && kept.shape?.join('x') === task.inputShape.join('x') && kept.classNames?.join('\n') === task.classNames.join('\n');
}

/** Share of the local images held out to score the received model when the server has no test set (Welcome.serverEvaluates false). */
export const LOCAL_HOLDOUT_FRACTION = 0.2;
