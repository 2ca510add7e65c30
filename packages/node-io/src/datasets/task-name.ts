/** Small helpers shared by the dataset loaders: the --image-size flag, valid sides, task names. */
import { TASK_LIMITS } from '@fedtsa/core/task';

export type ImageSize = [number, number, 1 | 3];

/** Largest side an image file or IDX image may have, and the smallest: beyond these it is refused. */
export const SOURCE_SIDE_LIMITS = { min: 4, max: 4096 } as const;

/** "32x32x3" or "32x32" (channels then follow the data) -> [32, 32, 3]; the task's limits are checked. */
export function parseImageSize(text: string, flag = '--image-size'): [number, number, (1 | 3)?] {
  const m = /^(\d+)x(\d+)(?:x(\d+))?$/.exec(text.trim());
  const fix = `height and width multiples of 4 from ${TASK_LIMITS.minSide} to ${TASK_LIMITS.maxSide}, channels 1 or 3, e.g. ${flag} 32x32x3`;
  if (!m) throw new Error(`${flag} must be HxW or HxWxC (${fix}), got '${text}'`);
  const [h, w] = [Number(m[1]), Number(m[2])];
  const c = m[3] === undefined ? undefined : Number(m[3]);
  for (const v of [h, w]) {
    if (v % 4 !== 0 || v < TASK_LIMITS.minSide || v > TASK_LIMITS.maxSide) throw new Error(`${flag} ${text}: ${fix}`);
  }
  if (c !== undefined && c !== 1 && c !== 3) throw new Error(`${flag} ${text}: ${fix}`);
  return c === undefined ? [h, w] : [h, w, c];
}

/** The nearest side a task accepts: a multiple of 4 within the task limits. */
export function fitSide(side: number): number {
  return Math.min(TASK_LIMITS.maxSide, Math.max(TASK_LIMITS.minSide, 4 * Math.round(side / 4)));
}

export function isValidSide(side: number): boolean {
  return side === fitSide(side);
}

/** A folder name cleaned to the task name rule: lowercase letters, digits and dashes, at most 40. */
export function taskNameFrom(folderName: string): string {
  const cleaned = folderName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 40).replace(/-+$/, '');
  return cleaned === '' ? 'task' : cleaned;
}

export function checkSourceSide(what: string, height: number, width: number): void {
  const { min, max } = SOURCE_SIDE_LIMITS;
  if (height < min || width < min || height > max || width > max) {
    throw new Error(`${what} is ${height}x${width} pixels; images must be from ${min}x${min} to ${max}x${max} (resize or remove it)`);
  }
}
