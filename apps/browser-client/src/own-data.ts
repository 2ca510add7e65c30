/**
 * The user's own labelled images: picked as files or a folder, labelled by their parent
 * folder's name, converted to 28x28 greyscale as the model expects.
 */
import type { StoredData } from './storage.ts';

const SIZE = 28;

async function toPixels(file: File, canvas: OffscreenCanvas): Promise<Uint8Array> {
  const bitmap = await createImageBitmap(file);
  const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, SIZE, SIZE);
  ctx.drawImage(bitmap, 0, 0, SIZE, SIZE);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
  const grey = new Uint8Array(SIZE * SIZE);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!);
  return grey;
}

/** Folder names that are digits map to that class; otherwise sorted names map to 0, 1, ... */
export async function readOwnImages(files: FileList, numClasses: number): Promise<StoredData> {
  const images = [...files].filter((f) => f.type.startsWith('image/'));
  if (images.length === 0) throw new Error('no images among the selected files');
  const folderOf = (f: File) => {
    const parts = (f.webkitRelativePath || f.name).split('/');
    return parts.length >= 2 ? (parts[parts.length - 2] as string) : 'unlabelled';
  };
  const names = [...new Set(images.map(folderOf))].sort();
  if (names.length > numClasses) throw new Error(`found ${names.length} label folders, the model has ${numClasses} classes`);
  const labelOf = (name: string) => (/^\d+$/.test(name) && Number(name) < numClasses ? Number(name) : names.indexOf(name));
  const canvas = new OffscreenCanvas(SIZE, SIZE);
  const pixels = new Uint8Array(images.length * SIZE * SIZE);
  const labels = new Uint8Array(images.length);
  for (const [i, file] of images.entries()) {
    pixels.set(await toPixels(file, canvas), i * SIZE * SIZE);
    labels[i] = labelOf(folderOf(file));
  }
  return { images: pixels, labels, count: images.length, source: 'own', classNames: names };
}
