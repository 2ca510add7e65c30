/**
 * Image resizing and channel conversion, so any source image fits a task's input shape.
 * Separable: each axis has its own taps. Shrinking averages the source pixels each output
 * pixel covers (area, weighted by the covered fraction), which keeps thin strokes instead of
 * aliasing them away; enlarging interpolates between the two nearest centres (bilinear).
 */
import type { LabelledImages } from './dataset.ts';

interface Tap { from: number; weights: number[] }

/** Per output index along one axis: the first source index and the weights of the following ones. */
function axisTaps(inSize: number, outSize: number): Tap[] {
  const scale = inSize / outSize;
  const taps: Tap[] = [];
  for (let o = 0; o < outSize; o++) {
    if (scale > 1) {
      const start = o * scale;
      const end = start + scale;
      const from = Math.floor(start);
      const weights: number[] = [];
      for (let i = from; i < Math.min(inSize, Math.ceil(end)); i++) weights.push((Math.min(end, i + 1) - Math.max(start, i)) / scale);
      taps.push({ from, weights });
    } else {
      const x = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const from = Math.min(Math.floor(x), Math.max(0, inSize - 2));
      const t = x - from;
      taps.push(inSize === 1 ? { from: 0, weights: [1] } : { from, weights: [1 - t, t] });
    }
  }
  return taps;
}

/** [h, w, c] -> [outH, outW, c]; values keep their scale. */
export function resizeImage(src: ArrayLike<number>, h: number, w: number, c: number, outH: number, outW: number): Float32Array {
  if (src.length !== h * w * c) throw new Error(`resizeImage: ${src.length} values is not ${h}x${w}x${c}`);
  for (const [name, v] of [['outH', outH], ['outW', outW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resizeImage: ${name} must be a positive integer, got ${v}`);
  }
  if (h === outH && w === outW) return Float32Array.from(src);
  const colTaps = axisTaps(w, outW);
  const rows = new Float32Array(h * outW * c); // [h, outW, c]
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const { from, weights } = colTaps[x] as Tap;
      for (let k = 0; k < c; k++) {
        let sum = 0;
        weights.forEach((wt, j) => { sum += wt * (src[(y * w + from + j) * c + k] as number); });
        rows[(y * outW + x) * c + k] = sum;
      }
    }
  }
  const rowTaps = axisTaps(h, outH);
  const out = new Float32Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    const { from, weights } = rowTaps[y] as Tap;
    for (let i = 0; i < outW * c; i++) {
      let sum = 0;
      weights.forEach((wt, j) => { sum += wt * (rows[(from + j) * outW * c + i] as number); });
      out[y * outW * c + i] = sum;
    }
  }
  return out;
}

/**
 * [n pixels, inChannels] -> [n pixels, outChannels]. 4 channels are RGBA: alpha is dropped
 * (the colour is used as stored). Colour to grey uses the ITU-R BT.601 luma weights.
 */
export function convertChannels(src: ArrayLike<number>, inChannels: number, outChannels: 1 | 3): Float32Array {
  if (![1, 3, 4].includes(inChannels)) throw new Error(`convertChannels: inChannels must be 1, 3 or 4, got ${inChannels}`);
  const n = src.length / inChannels;
  if (!Number.isInteger(n)) throw new Error(`convertChannels: ${src.length} values is not a multiple of ${inChannels} channels`);
  const out = new Float32Array(n * outChannels);
  for (let p = 0; p < n; p++) {
    const r = src[p * inChannels] as number;
    const g = inChannels === 1 ? r : (src[p * inChannels + 1] as number);
    const b = inChannels === 1 ? r : (src[p * inChannels + 2] as number);
    if (outChannels === 1) out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else out.set([r, g, b], p * 3);
  }
  return out;
}

/** Every image of a dataset resized to outH x outW and converted to outChannels. */
export function resizeDataset(data: LabelledImages, outH: number, outW: number, outChannels: 1 | 3): LabelledImages {
  const { height: h, width: w, channels: c } = data;
  if (h === outH && w === outW && c === outChannels) return data;
  const inPer = h * w * c;
  const outPer = outH * outW * outChannels;
  const images = new Float32Array(data.count * outPer);
  for (let i = 0; i < data.count; i++) {
    const resized = resizeImage(data.images.subarray(i * inPer, (i + 1) * inPer), h, w, c, outH, outW);
    images.set(c === outChannels ? resized : convertChannels(resized, c, outChannels), i * outPer);
  }
  return { ...data, images, height: outH, width: outW, channels: outChannels };
}
