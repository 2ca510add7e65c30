/**
 * A task: one image-classification problem as a typed, validated object. Everything that
 * needs a shape takes it from here (the simulation, the run settings, Welcome, the browser and
 * its benchmark, the virtual clients, evaluation, the model download); only the built-in tasks
 * below hold literal shapes. The server's data for a task (public pool, validation, test, each
 * optional) is loaded beside it (node-io), never part of the definition that travels to
 * clients.
 */
import { DEFAULT_SPEC_SIZES, type ModelSpec } from './architecture.ts';
import type { LabelledImages } from './data/dataset.ts';

export interface TaskDefinition {
  /** Identifier: lowercase letters, digits and dashes, 1 to 40 characters. */
  name: string;
  /** [height, width, channels]: height and width multiples of 4 in [16, 64], 1 or 3 channels. Other image sizes are resized into it. */
  inputShape: [number, number, number];
  /** 2 to 100 names, one per label, in label order. */
  classNames: string[];
  /** How a pixel byte becomes a model input: 'unit' = value / 255, in [0, 1]. */
  normalisation: 'unit';
  /** The reference CNN (architecture.ts) generalised to the task's shape, with its width-1 sizes. */
  model: { family: 'reference-cnn'; conv1Filters: number; conv2Filters: number; hiddenUnits: number };
}

export const TASK_LIMITS = { minSide: 16, maxSide: 64, minClasses: 2, maxClasses: 100, maxClassName: 60 } as const;

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** What is wrong with a task definition, one plain sentence per problem (empty when none). */
export function taskProblems(t: TaskDefinition): string[] {
  const problems: string[] = [];
  if (typeof t.name !== 'string' || !NAME.test(t.name)) problems.push(`name must be 1 to 40 lowercase letters, digits or dashes (not at either end), got ${JSON.stringify(t.name)}`);
  const shape = t.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) {
    problems.push('inputShape must be [height, width, channels]');
  } else {
    const [h, w, c] = shape;
    for (const [side, v] of [['height', h], ['width', w]] as const) {
      if (!Number.isInteger(v) || v < TASK_LIMITS.minSide || v > TASK_LIMITS.maxSide || v % 4 !== 0) {
        problems.push(`${side} must be a multiple of 4 from ${TASK_LIMITS.minSide} to ${TASK_LIMITS.maxSide}, got ${v}`);
      }
    }
    if (c !== 1 && c !== 3) problems.push(`channels must be 1 (greyscale) or 3 (colour), got ${c}`);
  }
  const names = t.classNames;
  if (!Array.isArray(names) || names.length < TASK_LIMITS.minClasses || names.length > TASK_LIMITS.maxClasses) {
    problems.push(`classNames must list ${TASK_LIMITS.minClasses} to ${TASK_LIMITS.maxClasses} classes, got ${Array.isArray(names) ? names.length : typeof names}`);
  } else {
    names.forEach((n, i) => {
      if (typeof n !== 'string' || n.trim() === '' || n.length > TASK_LIMITS.maxClassName) problems.push(`classNames[${i}] must be a non-empty name of at most ${TASK_LIMITS.maxClassName} characters`);
    });
    if (new Set(names).size !== names.length) problems.push('classNames must be distinct');
  }
  if (t.normalisation !== 'unit') problems.push(`normalisation must be 'unit' (value / 255), got ${JSON.stringify(t.normalisation)}`);
  const m = t.model;
  if (!m || m.family !== 'reference-cnn') problems.push("model.family must be 'reference-cnn'");
  else {
    for (const k of ['conv1Filters', 'conv2Filters', 'hiddenUnits'] as const) {
      if (!Number.isInteger(m[k]) || m[k] < 1 || m[k] > 1024) problems.push(`model.${k} must be an integer from 1 to 1024, got ${m[k]}`);
    }
  }
  return problems;
}

export function validateTask(t: TaskDefinition, where = 'task'): TaskDefinition {
  const problems = taskProblems(t);
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  return t;
}

/** A task from its essentials; the model takes the reference CNN's default sizes. Validated. */
export function defineTask(t: Pick<TaskDefinition, 'name' | 'inputShape' | 'classNames'> & Partial<TaskDefinition>): TaskDefinition {
  return validateTask({
    normalisation: 'unit', model: { family: 'reference-cnn', ...DEFAULT_SPEC_SIZES }, ...t,
    inputShape: [...t.inputShape], classNames: [...t.classNames],
  }, `task '${t.name}'`);
}

/** The model spec (architecture.ts) of a task. */
export function taskSpec(t: TaskDefinition): ModelSpec {
  return {
    inputShape: [t.inputShape[0], t.inputShape[1], t.inputShape[2]], numClasses: t.classNames.length,
    conv1Filters: t.model.conv1Filters, conv2Filters: t.model.conv2Filters, hiddenUnits: t.model.hiddenUnits,
  };
}

/** Built in and the default: Debian's dataset-fashion-mnist. */
export const FASHION_MNIST_TASK: TaskDefinition = defineTask({
  name: 'fashion-mnist', inputShape: [28, 28, 1],
  classNames: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
});

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
