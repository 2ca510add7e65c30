/**
 * The memory-bound parts of the reference CNN's backward pass, in JS (cnn-step.ts): max-pool
 * gradients fused with the relu mask and the bias gradient, written straight into the layouts
 * the gradient convolutions that follow want, and the first conv layer's whole backward pass
 * for narrow models.
 */

/** Strides of b, y, x and channel in a 4-D gradient buffer. */
export type Strides = readonly [number, number, number, number];

/** The strides of a [b, h, w, c] tensor laid out in `order` ('bhwc' is NHWC). */
export function stridesOf(order: 'bhwc' | 'chwb' | 'hwbc', batch: number, h: number, w: number, c: number): Strides {
  if (order === 'bhwc') return [h * w * c, w * c, c, 1];
  if (order === 'chwb') return [1, w * batch, batch, h * w * batch];
  return [c, w * batch * c, batch * c, 1];
}

/** A zeroed output buffer and its layout. */
export interface GradientOut {
  values: Float32Array;
  strides: Strides;
}

/**
 * Max-pool (2x2, stride 2) gradient fused with the relu mask of the pool's input `a`
 * (post-relu, [b, h, w, c]): each dy goes to its window's first maximum, as in tfjs's
 * MaxPoolGrad, and only where that maximum is > 0 (relu's gradient); it is written into every
 * output (zeroed beforehand, each in its own layout) and summed per channel into `biasGrad`
 * (the gradient of the conv's bias). dy is [b, h/2, w/2, c], or [h/2 * w/2 * c, b] if
 * dyTransposed.
 */
export function maxPoolReluGrad2x2(
  a: Float32Array, dy: Float32Array, dyTransposed: boolean, outs: readonly GradientOut[], biasGrad: Float64Array,
  batch: number, h: number, w: number, c: number,
): void {
  const ho = h >> 1;
  const wo = w >> 1;
  const rowStride = w * c;
  const sampleStride = dyTransposed ? 1 : ho * wo * c;
  const elementStride = dyTransposed ? batch : 1;
  const [first, second] = outs as [GradientOut, GradientOut | undefined];
  const [fb, fy, fx, fc] = first.strides;
  const out1 = first.values;
  const out2 = second?.values;
  const [sb, sy, sx, sc] = second?.strides ?? [0, 0, 0, 0];
  if (outs.length > 2) throw new Error('maxPoolReluGrad2x2: at most two outputs');
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const p00 = ((b * h + oy * 2) * w + ox * 2) * c;
        const dyBase = b * sampleStride + (oy * wo + ox) * c * elementStride;
        for (let ch = 0; ch < c; ch++) {
          let best = a[p00 + ch] as number;
          let at = 0;
          const v01 = a[p00 + c + ch] as number;
          if (v01 > best) { best = v01; at = 1; }
          const v10 = a[p00 + rowStride + ch] as number;
          if (v10 > best) { best = v10; at = 2; }
          const v11 = a[p00 + rowStride + c + ch] as number;
          if (v11 > best) { best = v11; at = 3; }
          if (!(best > 0)) continue;
          const g = dy[dyBase + ch * elementStride] as number;
          const y = oy * 2 + (at >> 1);
          const x = ox * 2 + (at & 1);
          out1[b * fb + y * fy + x * fx + ch * fc] = g;
          if (out2) out2[b * sb + y * sy + x * sx + ch * sc] = g;
          biasGrad[ch] = (biasGrad[ch] as number) + g;
        }
      }
    }
  }
}

/**
 * The first conv layer's whole backward pass in one JS walk over the 2x2 pool windows: each
 * window's gradient goes to its first maximum in `a` (the post-relu conv output [b, h, w, f]),
 * only where that is > 0, and straight into the filter gradient (sum over the taps of the
 * input `x` [b, h, w, c] at that position, 'same' padding, stride 1) and the bias gradient.
 * Max pooling leaves at most a quarter of the positions with a gradient, so this does a
 * quarter of a dense filter gradient's work and never materialises d(conv output).
 */
export function conv1BackwardThroughPool(
  a: Float32Array, dy: Float32Array, x: Float32Array, filterGrad: Float64Array, biasGrad: Float64Array,
  batch: number, h: number, w: number, c: number, f: number, kh: number, kw: number,
): void {
  const padTop = (kh - 1) >> 1;
  const padLeft = (kw - 1) >> 1;
  const ho = h >> 1;
  const wo = w >> 1;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const p00 = ((b * h + oy * 2) * w + ox * 2) * f;
        const dyBase = ((b * ho + oy) * wo + ox) * f;
        for (let ch = 0; ch < f; ch++) {
          let best = a[p00 + ch] as number;
          let at = 0;
          const v01 = a[p00 + f + ch] as number;
          if (v01 > best) { best = v01; at = 1; }
          const v10 = a[p00 + w * f + ch] as number;
          if (v10 > best) { best = v10; at = 2; }
          const v11 = a[p00 + w * f + f + ch] as number;
          if (v11 > best) { best = v11; at = 3; }
          if (!(best > 0)) continue;
          const g = dy[dyBase + ch] as number;
          if (g === 0) continue;
          biasGrad[ch] = (biasGrad[ch] as number) + g;
          const y = oy * 2 + (at >> 1);
          const xx = ox * 2 + (at & 1);
          for (let i = 0; i < kh; i++) {
            const yy = y + i - padTop;
            if (yy < 0 || yy >= h) continue;
            for (let j = 0; j < kw; j++) {
              const xc = xx + j - padLeft;
              if (xc < 0 || xc >= w) continue;
              const xBase = ((b * h + yy) * w + xc) * c;
              const gBase = (i * kw + j) * c * f + ch;
              for (let ci = 0; ci < c; ci++) filterGrad[gBase + ci * f] = (filterGrad[gBase + ci * f] as number) + (x[xBase + ci] as number) * g;
            }
          }
        }
      }
    }
  }
}
