/**
 * Reader for the CIFAR-10 "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html):
 * each record is 1 label byte followed by 3072 pixel bytes, stored planar (1024 red, then
 * 1024 green, then 1024 blue, each a row-major 32x32 plane). We interleave the planes into
 * NHWC because that is the layout every other part of the pipeline (and tfjs) expects.
 */
import { concatDatasets, type LabelledImages } from './dataset.ts';

export const CIFAR10_SIDE = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_CLASSES = 10;
const PLANE = CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_CHANNELS * PLANE;

/** Parses one batch file, or several (e.g. data_batch_1..5) which are concatenated in order. */
export function parseCifar10Binary(bytes: Uint8Array | Uint8Array[]): LabelledImages {
  if (Array.isArray(bytes)) {
    if (bytes.length === 0) throw new Error('parseCifar10Binary: need at least one batch file');
    return concatDatasets(bytes.map((b, k) => parseOne(b, ` (file ${k})`)));
  }
  return parseOne(bytes, '');
}

function parseOne(bytes: Uint8Array, where: string): LabelledImages {
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(
      `parseCifar10Binary${where}: length ${bytes.length} is not a multiple of the ${CIFAR10_RECORD_BYTES}-byte record ` +
        `(truncated or not a CIFAR-10 binary file)`,
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const images = new Float32Array(count * CIFAR10_CHANNELS * PLANE);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const rec = n * CIFAR10_RECORD_BYTES;
    const label = bytes[rec] as number;
    if (label >= CIFAR10_CLASSES) {
      throw new Error(`parseCifar10Binary${where}: record ${n} has label ${label}, expected < ${CIFAR10_CLASSES} (is this CIFAR-100?)`);
    }
    labels[n] = label;
    const out = n * CIFAR10_CHANNELS * PLANE;
    for (let c = 0; c < CIFAR10_CHANNELS; c++) {
      const src = rec + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) images[out + p * CIFAR10_CHANNELS + c] = (bytes[src + p] as number) / 255;
    }
  }
  return { images, labels, count, height: CIFAR10_SIDE, width: CIFAR10_SIDE, channels: CIFAR10_CHANNELS, numClasses: CIFAR10_CLASSES };
}
