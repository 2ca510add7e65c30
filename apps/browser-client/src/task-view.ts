/** The run's task on the page: its name, shape and classes, and how to bring one's own images for it. */
import type { TaskDefinition } from '@fedtsa/core/task';
import { describeShape } from './task-images.ts';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

export function showTask(task: TaskDefinition, serverEvaluates: boolean, holdoutPercent: number): void {
  $('task').textContent = `${task.name} (${describeShape(task)} images)`;
  $('classes').textContent = `${task.classNames.length}: ${task.classNames.join(', ')}`;
  $('evaluation').textContent = serverEvaluates
    ? 'the coordinator tests each model on its own images'
    : `this device tests the model it receives on ${holdoutPercent}% of its images before training`;
  const help = $('own-data-help');
  help.hidden = false;
  help.textContent = `Your own images: choose a folder with one subfolder per class, each named after a class above ` +
    `(or its number, 0 to ${task.classNames.length - 1}). Images of any size are resized to ${describeShape(task)}.`;
  (document.getElementById('own-data') as HTMLInputElement).disabled = false;
  $('own-data-label').classList.remove('disabled');
}
