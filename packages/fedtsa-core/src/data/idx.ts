/**
 * Reader for the IDX format used by MNIST and Fashion-MNIST
 * (http://yann.lecun.com/exdb/mnist/): magic 0x00 0x00 <type> <ndims>, then ndims
 * big-endian uint32 sizes, then the data in row-major order. Only unsigned bytes (type
 * 0x08) are supported because every dataset we load uses them. The files are often shipped
 * gzipped, so gzip input (magic 0x1f 0x8b) is inflated first.
 */
import { gunzipSync } from 'fflate';
import { validateLabelledImages, type LabelledImages } from './dataset.ts';

const IDX_UBYTE = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'sbyte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses a raw or gzipped IDX ubyte file. `data` is a copy, safe to keep or mutate. */
export function parseIdx(bytes: Uint8Array): IdxArray {
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`parseIdx: gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) throw new Error(`parseIdx: file is truncated, ${raw.length} bytes is shorter than the 4-byte header`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new Error(`parseIdx: bad magic, expected 0x00 0x00 <type> <ndims>, got 0x${hex(raw[0])} 0x${hex(raw[1])}`);
  }
  const type = raw[2] as number;
  if (type !== IDX_UBYTE) {
    const name = IDX_TYPE_NAMES[type];
    throw new Error(`parseIdx: unsupported element type 0x${hex(type)}${name ? ` (${name})` : ''}, only 0x08 (ubyte) is supported`);
  }
  const ndims = raw[3] as number;
  if (ndims === 0) throw new Error('parseIdx: ndims is 0, expected at least one dimension');
  const headerLen = 4 + 4 * ndims;
  if (raw.length < headerLen) {
    throw new Error(`parseIdx: file is truncated, header needs ${headerLen} bytes for ${ndims} dims, got ${raw.length}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    size *= n;
  }
  const available = raw.length - headerLen;
  if (available < size) {
    throw new Error(`parseIdx: file is truncated, dims [${dims.join(', ')}] need ${size} data bytes, got ${available}`);
  }
  if (available > size) {
    throw new Error(`parseIdx: ${available - size} unexpected trailing bytes after dims [${dims.join(', ')}] (${size} data bytes)`);
  }
  return { dims, data: raw.slice(headerLen) };
}

/** Writes a ubyte IDX file (the inverse of parseIdx, without gzip): for tests and example datasets. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`encodeIdx: dims [${dims.join(', ')}] need ${size} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  out.set([0, 0, IDX_UBYTE, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/**
 * Combines an images file, [n, h, w] (greyscale) or [n, h, w, c] with c 1 or 3 (colour), and
 * a labels file [n] into NHWC floats in [0, 1] (byte / 255).
 */
export function idxToLabelledImages(imagesIdx: Uint8Array, labelsIdx: Uint8Array, numClasses = 10): LabelledImages {
  return idxArraysToLabelledImages(parseIdx(imagesIdx), parseIdx(labelsIdx), numClasses);
}

export function idxArraysToLabelledImages(images: IdxArray, labels: IdxArray, numClasses: number): LabelledImages {
  const fn = 'idxToLabelledImages';
  const channels = images.dims.length === 4 ? images.dims[3] : 1;
  if ((images.dims.length !== 3 && images.dims.length !== 4) || (channels !== 1 && channels !== 3)) {
    throw new Error(`${fn}: images file must have dims [n, h, w] (greyscale) or [n, h, w, 3] (colour), got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) {
    throw new Error(`${fn}: labels file must have 1 dim [n], got [${labels.dims.join(', ')}]`);
  }
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new Error(`${fn}: ${count} images but ${labels.dims[0]} labels`);
  }
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (images.data[i] as number) / 255;
  const out: LabelledImages = { images: pixels, labels: labels.data, count, height, width, channels, numClasses };
  validateLabelledImages(out, fn);
  return out;
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
