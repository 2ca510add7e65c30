/**
 * The user's own labelled images, converted to the run's task: picked as a folder with one
 * subfolder per class, each folder named after one of the task's classes (or its label
 * number), decoded by the browser, resized to the task's height x width and given its
 * channels (greyscale for 1-channel tasks, RGB for 3-channel ones). The conversion is the
 * coordinator's image-folder loader's (core resize.ts: alpha dropped, area average when
 * shrinking, bilinear when enlarging, greyscale as 0.299 R + 0.587 G + 0.114 B), so an image
 * becomes the same input in the browser as on the server.
 */
import { convertChannels, resizeImage } from '@fedtsa/core/data/resize';
import type { TaskDefinition } from '@fedtsa/core/task';
import type { StoredData } from './storage.ts';

/** One image's RGBA bytes ([height, width, 4], as canvas getImageData gives) as the task's pixel bytes ([h, w, c]). */
export function toTaskPixels(rgba: ArrayLike<number>, height: number, width: number, shape: readonly [number, number, number]): Uint8Array {
  const [h, w, c] = shape;
  if (rgba.length !== height * width * 4) throw new Error(`toTaskPixels: ${rgba.length} values is not ${height}x${width} RGBA`);
  const rgb = convertChannels(rgba, 4, 3);
  const resized = resizeImage(rgb, height, width, 3, h, w);
  const out = c === 3 ? resized : convertChannels(resized, 3, 1);
  return Uint8Array.from(out, (v) => Math.min(255, Math.max(0, Math.round(v))));
}

/** The name of the folder a picked file sits in, or undefined for a file picked on its own. */
export function folderOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

/**
 * Each image's label from its folder: the class whose name it is (letter case and surrounding
 * spaces ignored), or a number from 0 to classes - 1. Refused, naming the folders and the
 * task's classes, when a folder matches neither.
 */
export function labelsFromFolders(paths: readonly string[], classNames: readonly string[]): Uint8Array {
  const key = (s: string) => s.trim().toLowerCase();
  const byName = new Map(classNames.map((n, i) => [key(n), i]));
  const labelOf = (folder: string) => byName.get(key(folder)) ?? (/^\d+$/.test(folder) && Number(folder) < classNames.length ? Number(folder) : undefined);
  const loose = paths.filter((p) => folderOf(p) === undefined);
  if (loose.length > 0) {
    throw new Error(`${loose.length} image${loose.length === 1 ? ' is' : 's are'} not in a class folder (${loose.slice(0, 3).join(', ')}); ` +
      `choose a folder that holds one subfolder per class: ${classNames.join(', ')}`);
  }
  const unknown = [...new Set(paths.map((p) => folderOf(p) as string).filter((f) => labelOf(f) === undefined))];
  if (unknown.length > 0) {
    throw new Error(`folder${unknown.length === 1 ? '' : 's'} ${unknown.map((f) => `'${f}'`).join(', ')} match${unknown.length === 1 ? 'es' : ''} none of this task's classes ` +
      `(${classNames.join(', ')}); name each folder after a class or its number, 0 to ${classNames.length - 1}`);
  }
  return Uint8Array.from(paths, (p) => labelOf(folderOf(p) as string) as number);
}

/** A picked image file's RGBA pixels at its own size (also used by "Try the model", try-model.ts). */
export async function decodeImage(file: File): Promise<{ rgba: Uint8ClampedArray; height: number; width: number }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error(`${file.webkitRelativePath || file.name} is not an image this browser can decode`);
  }
  try {
    const { height, width } = bitmap;
    const ctx = new OffscreenCanvas(width, height).getContext('2d') as OffscreenCanvasRenderingContext2D;
    ctx.drawImage(bitmap, 0, 0);
    return { rgba: ctx.getImageData(0, 0, width, height).data, height, width };
  } finally {
    bitmap.close();
  }
}

/** The picked files' images in the task's shape, labelled by folder; kept with the task they fit. */
export async function readOwnImages(files: FileList | readonly File[], task: TaskDefinition): Promise<StoredData> {
  const images = [...files].filter((f) => f.type.startsWith('image/'));
  if (images.length === 0) throw new Error('no images among the selected files');
  const labels = labelsFromFolders(images.map((f) => f.webkitRelativePath || f.name), task.classNames);
  const [h, w, c] = task.inputShape;
  const pixels = new Uint8Array(images.length * h * w * c);
  for (const [i, file] of images.entries()) {
    const { rgba, height, width } = await decodeImage(file);
    pixels.set(toTaskPixels(rgba, height, width, task.inputShape), i * h * w * c);
  }
  return { images: pixels, labels, count: images.length, source: 'own', taskName: task.name, shape: [h, w, c], classNames: [...task.classNames] };
}
