/**
 * Two more training hot spots of tfjs-backend-wasm 4.22, measured on the reference CNN
 * (batch 32, width 1): MaxPoolGrad took 42 ms of a 185 ms step and BatchMatMul with
 * transposeA (the dense layer's weight gradient) 56 ms. Replacements:
 * - MaxPoolGrad for non-overlapping valid pooling (stride == pool size, the reference model's
 *   case): one pass in plain JS that routes each dy to its window's argmax;
 * - BatchMatMul with transposeA: an explicit transpose, then the fast non-transposed kernel.
 * Everything else falls through to the backend's own kernel.
 */
import {
  backend_util,
  BatchMatMul,
  getKernel,
  MaxPoolGrad,
  registerKernel,
  unregisterKernel,
  type BatchMatMulAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** Reference-quality JS max-pool gradient for stride == window, no padding, NHWC. */
export function maxPoolGradNonOverlapping(
  x: Float32Array, xShape: readonly number[], dy: Float32Array, dyShape: readonly number[], pool: readonly [number, number],
): Float32Array {
  const [batch, h, w, c] = xShape as [number, number, number, number];
  const [, ho, wo] = dyShape as [number, number, number];
  const [ph, pw] = pool;
  const dx = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const dyBase = ((b * ho + oy) * wo + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let bestIndex = -1;
          for (let i = 0; i < ph; i++) {
            const rowBase = ((b * h + oy * ph + i) * w + ox * pw) * c + ch;
            for (let j = 0; j < pw; j++) {
              const idx = rowBase + j * c;
              const v = x[idx] as number;
              // First maximum wins, as in tfjs's own MaxPoolGrad.
              if (v > best) { best = v; bestIndex = idx; }
            }
          }
          if (bestIndex >= 0) dx[bestIndex] = (dx[bestIndex] as number) + (dy[dyBase + ch] as number);
        }
      }
    }
  }
  return dx;
}

const installed = new Map<string, { maxPoolGrad?: KernelConfig; batchMatMul?: KernelConfig }>();

export function registerFastPoolAndMatMul(backendName: string): void {
  if (installed.has(backendName)) return;
  const maxPoolGrad = getKernel(MaxPoolGrad, backendName);
  const batchMatMul = getKernel(BatchMatMul, backendName);
  installed.set(backendName, { maxPoolGrad, batchMatMul });

  if (maxPoolGrad) {
    const kernelFunc: KernelFunc = (args) => {
      const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
      const a = args.attrs as unknown as MaxPoolGradAttrs;
      const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
      const nonOverlapping = info.strideHeight === info.filterHeight && info.strideWidth === info.filterWidth &&
        info.padInfo.top === 0 && info.padInfo.left === 0 && info.padInfo.bottom === 0 && info.padInfo.right === 0 &&
        info.inHeight === info.outHeight * info.filterHeight && info.inWidth === info.outWidth * info.filterWidth;
      if (!nonOverlapping || input.dtype !== 'float32') return maxPoolGrad.kernelFunc(args);
      const backend = args.backend as KernelBackend;
      const dx = maxPoolGradNonOverlapping(
        backend.readSync(input.dataId) as Float32Array, input.shape,
        backend.readSync(dy.dataId) as Float32Array, dy.shape, [info.filterHeight, info.filterWidth],
      );
      return { dataId: backend.write(dx, input.shape, 'float32'), shape: input.shape, dtype: 'float32' };
    };
    unregisterKernel(MaxPoolGrad, backendName);
    registerKernel({ kernelName: MaxPoolGrad, backendName, kernelFunc });
  }

  const transpose = getKernel('Transpose', backendName);
  if (batchMatMul && transpose) {
    const kernelFunc: KernelFunc = (args) => {
      const a = args.attrs as unknown as BatchMatMulAttrs;
      if (!a.transposeA) return batchMatMul.kernelFunc(args);
      const { a: left, b: right } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const rank = left.shape.length;
      const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
      const backend = args.backend as KernelBackend;
      const leftT = transpose.kernelFunc({ inputs: { x: left }, backend, attrs: { perm } }) as TensorInfo;
      const out = batchMatMul.kernelFunc({
        inputs: { a: leftT, b: right }, backend, attrs: { ...a, transposeA: false } as unknown as NamedAttrMap,
      }) as TensorInfo;
      backend.disposeData(leftT.dataId);
      return out;
    };
    unregisterKernel(BatchMatMul, backendName);
    registerKernel({ kernelName: BatchMatMul, backendName, kernelFunc });
  }
}

export function unregisterFastPoolAndMatMul(backendName: string): void {
  const original = installed.get(backendName);
  if (!original) return;
  for (const config of [original.maxPoolGrad, original.batchMatMul]) {
    if (!config) continue;
    unregisterKernel(config.kernelName, backendName);
    registerKernel(config);
  }
  installed.delete(backendName);
}
