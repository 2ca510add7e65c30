/**
 * Fast gradients of 2-D convolution, written as forward convolutions.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel (training a CNN throws) and its
 * Conv2DBackpropInput is about 11x slower than a forward conv. For stride 1 and dilation 1
 * both gradients are themselves convolutions that the backend's fast (XNNPACK) forward
 * kernel can compute:
 *   dW[i,j,ci,co] = sum_{b,y,x} x[b, y+i-padTop, x+j-padLeft, ci] * dy[b,y,x,co]
 *     = conv(x^T [ci,h,w,b], dy^T [ho,wo,b,co]) with the forward pads, then transposed back;
 *   dx[b,y,x,ci]  = sum_{i,j,co} dy[b, y-i+padTop, x-j+padLeft, co] * W[i,j,ci,co]
 *     = conv(dy, flip(W) with ci/co swapped) with pads (k-1-pad).
 * Other cases (strides, dilations, NCHW) use a plain-JS NHWC reference, which is also the
 * oracle the tests compare against.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

type Pads = [[number, number], [number, number], [number, number], [number, number]];

export interface Ops {
  backend: KernelBackend;
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo;
  dispose(...infos: TensorInfo[]): void;
}

export function opsFor(backend: KernelBackend, backendName: string): Ops {
  return {
    backend,
    run(kernelName, inputs, attrs) {
      const config = getKernel(kernelName, backendName);
      if (config === undefined) throw new Error(`conv-gradients: backend '${backendName}' lacks kernel ${kernelName}`);
      return config.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
    },
    dispose(...infos) {
      for (const info of infos) backend.disposeData(info.dataId);
    },
  };
}

function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: { strides: number | [number, number]; pad: Conv2DBackpropFilterAttrs['pad']; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

function isFastCase(info: backend_util.Conv2DInfo): boolean {
  return (
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.dataFormat === 'channelsLast'
  );
}

/** dW via one forward conv of x^T with dy^T as the filter; dyTransposed: dy is given as [ho, wo, b, co] already. */
export function filterGradientByConv(ops: Ops, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, dyTransposed = false): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const xT = ops.run('Transpose', { x }, { perm: [3, 1, 2, 0] }); // [ci, h, w, b]
  const dyT = dyTransposed ? dy : ops.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [ho, wo, b, co]
  const pad: Pads = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const grad = ops.run('Conv2D', { x: xT, filter: dyT }, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC' } as unknown as NamedAttrMap); // [ci, kh, kw, co]
  const result = ops.run('Transpose', { x: grad }, { perm: [1, 2, 0, 3] }); // [kh, kw, ci, co]
  ops.dispose(xT, grad, ...(dyTransposed ? [] : [dyT]));
  return result;
}

/** dx via one forward conv of dy with the spatially flipped, channel-swapped filter. */
export function inputGradientByConv(ops: Ops, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const flipped = ops.run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = ops.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
  const pad: Pads = [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]];
  const result = ops.run('Conv2D', { x: dy, filter: swapped }, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC' } as unknown as NamedAttrMap);
  ops.dispose(flipped, swapped);
  return result;
}

/**
 * Slow, obviously-correct NHWC filter gradient for any stride. Used as the fallback where the
 * backend has no kernel, and as the oracle in tests.
 */
export function conv2dFilterGradientReference(
  x: Float32Array, xShape: readonly number[],
  dy: Float32Array, dyShape: readonly number[],
  filterShape: readonly number[],
  strides: readonly [number, number], padTopLeft: readonly [number, number],
): Float32Array {
  const [batch, h, w, ci] = xShape as [number, number, number, number];
  const [, ho, wo, co] = dyShape as [number, number, number, number];
  const [kh, kw] = filterShape as [number, number];
  const out = new Float32Array(kh * kw * ci * co);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const dyBase = ((b * ho + oy) * wo + ox) * co;
        for (let i = 0; i < kh; i++) {
          const y = oy * strides[0] + i - padTopLeft[0];
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xx = ox * strides[1] + j - padTopLeft[1];
            if (xx < 0 || xx >= w) continue;
            const xBase = ((b * h + y) * w + xx) * ci;
            for (let c = 0; c < ci; c++) {
              const xv = x[xBase + c] as number;
              if (xv === 0) continue;
              const outBase = ((i * kw + j) * ci + c) * co;
              for (let o = 0; o < co; o++) out[outBase + o] += xv * (dy[dyBase + o] as number);
            }
          }
        }
      }
    }
  }
  return out;
}

function filterGradientReference(ops: Ops, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, filterShape: number[]): TensorInfo {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error('Conv2DBackpropFilter: only NHWC without dilation is supported on this backend');
  }
  const read = (t: TensorInfo) => ops.backend.readSync(t.dataId) as Float32Array;
  const values = conv2dFilterGradientReference(
    read(x), x.shape, read(dy), dy.shape, filterShape,
    [info.strideHeight, info.strideWidth], [info.padInfo.top, info.padInfo.left],
  );
  const dataId = ops.backend.write(values, filterShape, 'float32');
  return { dataId, shape: filterShape, dtype: 'float32' };
}

const installed = new Map<string, { filter?: KernelConfig; input?: KernelConfig }>();

/**
 * Replaces the conv gradient kernels of `backendName` with the forward-conv versions above.
 * Idempotent. Call after the backend is registered (e.g. after importing its package).
 */
export function registerFastConvGradients(backendName: string): void {
  if (installed.has(backendName)) return;
  const originalFilter = getKernel(Conv2DBackpropFilter, backendName);
  const originalInput = getKernel(Conv2DBackpropInput, backendName);
  installed.set(backendName, { filter: originalFilter, input: originalInput });

  const filterKernel: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropFilterAttrs;
    const ops = opsFor(backend as KernelBackend, backendName);
    const info = convInfoOf(x.shape, a.filterShape, a);
    if (isFastCase(info)) return filterGradientByConv(ops, x, dy, info);
    if (originalFilter) return originalFilter.kernelFunc({ inputs, backend, attrs });
    return filterGradientReference(ops, x, dy, info, a.filterShape);
  };
  const inputKernel: KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const info = convInfoOf(a.inputShape, filter.shape, a);
    const padsFit = info.padInfo.top < info.filterHeight && info.padInfo.left < info.filterWidth &&
      info.padInfo.bottom < info.filterHeight && info.padInfo.right < info.filterWidth;
    if (isFastCase(info) && padsFit) return inputGradientByConv(opsFor(backend as KernelBackend, backendName), dy, filter, info);
    if (originalInput) return originalInput.kernelFunc({ inputs, backend, attrs });
    throw new Error(`Conv2DBackpropInput: backend '${backendName}' has no kernel for this case`);
  };

  if (originalFilter) unregisterKernel(Conv2DBackpropFilter, backendName);
  if (originalInput) unregisterKernel(Conv2DBackpropInput, backendName);
  registerKernel({ kernelName: Conv2DBackpropFilter, backendName, kernelFunc: filterKernel });
  registerKernel({ kernelName: Conv2DBackpropInput, backendName, kernelFunc: inputKernel });
}

/** Restores the backend's own kernels (used by tests and benchmarks to compare). */
export function unregisterFastConvGradients(backendName: string): void {
  const original = installed.get(backendName);
  if (!original) return;
  unregisterKernel(Conv2DBackpropFilter, backendName);
  unregisterKernel(Conv2DBackpropInput, backendName);
  if (original.filter) registerKernel(original.filter);
  if (original.input) registerKernel(original.input);
  installed.delete(backendName);
}
