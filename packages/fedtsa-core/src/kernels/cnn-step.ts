/**
 * The reference CNN's loss and gradients in one call, on backends whose memory JS reads
 * cheaply (wasm, cpu): forward and backward call the backend's kernels directly, without the
 * engine, the autodiff tape or tfjs-layers, and the small or memory-bound parts run in JS.
 *
 * Why: a step through tf.variableGrads and tfjs-layers was 151 kernel dispatches, each with an
 * engine tensor, a tape record and an allocation (bench/train-step.ts: 2.3-2.5 times three
 * forward passes at widths 1/2 to 1/8). Here a step is 14 kernel calls (17 at widths whose
 * conv1 is wide):
 *   forward   FusedConv2D(+bias+relu), MaxPool, FusedConv2D, MaxPool, fc1 as one matmul
 *   backward  fc1's two matmuls, conv2's filter and input gradients (each a forward conv,
 *             conv-gradients.ts), conv1's filter gradient (JS, or a forward conv)
 * plus a few transposes, and in JS (pool-relu-grad.ts): the logits layer (hidden x classes is
 * small), softmax cross-entropy, the max-pool gradients fused with the relu mask and the bias
 * gradients. No gradient for the input image. The wasm backend repacks the right-hand operand
 * of every matmul and conv (XNNPACK's weights) at every call, and weights change every step,
 * so each product is arranged to put the smaller operand there.
 *
 *   x [b, h, w, c] -> conv1 -> a1 [b, h, w, f1] -> pool -> p1 [b, h/2, w/2, f1] -> conv2 -> a2 [b, h/2, w/2, f2]
 *     -> pool -> p2 = flat [b, h/4 * w/4 * f2] -> fc1 -> hid [b, hidden] -> logits z [b, k]
 */
import { backend_util, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as tf from '@tensorflow/tfjs-core';
import { filterGradientByConv, inputGradientByConv, opsFor, type Ops } from './conv-gradients.ts';
import { conv1BackwardThroughPool, maxPoolReluGrad2x2, stridesOf } from './pool-relu-grad.ts';

/** The reference CNN's sizes and its 8 variables in manifest order (conv1 kernel, bias, conv2 ..., logits bias). */
export interface CnnNet {
  inputShape: [number, number, number];
  kernelSize: [number, number];
  f1: number;
  f2: number;
  hidden: number;
  numClasses: number;
  variables: tf.Variable[];
}

type LayerConfig = Record<string, unknown>;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const isOnes = (v: unknown) => v === 1 || same(v, [1, 1]);

/** The model's layout if it is the reference CNN (model.ts) with the settings this step assumes, else undefined. */
export function referenceCnnOf(model: tfl.LayersModel): CnnNet | undefined {
  const kinds = model.layers.map((l) => l.getClassName());
  if (!same(kinds, ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense'])) return undefined;
  const cfg = model.layers.map((l) => l.getConfig() as LayerConfig);
  const [conv1, pool1, conv2, pool2, , fc1, logits] = cfg as [LayerConfig, LayerConfig, LayerConfig, LayerConfig, LayerConfig, LayerConfig, LayerConfig];
  for (const c of [conv1, conv2]) {
    if (c.padding !== 'same' || !isOnes(c.strides) || !isOnes(c.dilationRate) || c.dataFormat !== 'channelsLast' ||
      c.activation !== 'relu' || c.useBias !== true) return undefined;
  }
  for (const p of [pool1, pool2]) {
    if (!same(p.poolSize, [2, 2]) || !same(p.strides, [2, 2]) || p.padding !== 'valid' || p.dataFormat !== 'channelsLast') return undefined;
  }
  if (fc1.activation !== 'relu' || fc1.useBias !== true || logits.activation !== 'linear' || logits.useBias !== true) return undefined;
  const inShape = model.inputs[0]?.shape;
  if (!inShape || inShape.length !== 4) return undefined;
  const [, h, w, c] = inShape as [null, number, number, number];
  if (h % 4 !== 0 || w % 4 !== 0) return undefined;
  const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
  if (variables.length !== 8) return undefined;
  const shapes = variables.map((v) => v.shape);
  const [kh, kw, , f1] = shapes[0] as [number, number, number, number];
  return {
    inputShape: [h, w, c], kernelSize: [kh, kw], f1,
    f2: (shapes[2] as number[])[3] as number,
    hidden: (shapes[4] as number[])[1] as number,
    numClasses: (shapes[6] as number[])[1] as number,
    variables,
  };
}

/**
 * Above this much dense work (batch x h x w x f1 x kh x kw x c), conv1's gradient goes through
 * the kernels. Measured (CPU ms per step, batch 32, 28x28x1): JS 0.35 against kernels 0.65 at
 * f1 = 2, 0.51 / 0.85 at f1 = 4, 1.36 / 1.25 at f1 = 8, 3.5 / 2.2 at f1 = 16. Tried and dropped:
 * sharing each window's four input patches across channels (2.6 ms at f1 = 16 but 1.1 at
 * f1 = 2), and conv1's filter gradient as patches x dPre1 in one matmul (1.5 ms at f1 = 16,
 * 0.7 at f1 = 2).
 */
const JS_CONV1_MAX_WORK = 32 * 28 * 28 * 4 * 9;

/**
 * A conv's filter gradient with the layer input as the conv's filter and the output gradient
 * as its input: out[co, p, q, ci] = sum over b, y, x of dy[b, y + p - padTop', x + q - padLeft', co]
 * * x[b, y, x, ci], which is dW[kh-1-p, kw-1-q, ci, co] with padTop' = kh-1-padTop. The wasm
 * backend repacks a conv's filter at every call (XNNPACK weights), so the smaller of the two
 * big operands goes there: conv2's input [b, h, w, f1] is half its output gradient's size
 * (measured: 2.6 against 3.8 ms a call at width 1, conv-gradients.ts's filterGradientByConv
 * being the latter). dyChannelsFirst is dy laid out [co, h, w, b]. Returns dW [kh, kw, ci, co].
 */
function filterGradientSmallPacked(
  ops: Ops, x: TensorInfo, dyChannelsFirst: TensorInfo, info: backend_util.Conv2DInfo, view: (t: TensorInfo) => Float32Array,
): Float32Array {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { top, left } = info.padInfo;
  const xT = ops.run('Transpose', { x }, { perm: [1, 2, 0, 3] }); // [h, w, b, ci]
  const pad = [[0, 0], [kh - 1 - top, top], [kw - 1 - left, left], [0, 0]];
  const out = ops.run('Conv2D', { x: dyChannelsFirst, filter: xT }, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC' } as unknown as NamedAttrMap); // [co, kh, kw, ci]
  try {
    const o = view(out);
    const dW = new Float32Array(kh * kw * ci * co);
    for (let c = 0; c < co; c++) {
      for (let p = 0; p < kh; p++) {
        for (let q = 0; q < kw; q++) {
          const src = ((c * kh + p) * kw + q) * ci;
          const dst = ((kh - 1 - p) * kw + (kw - 1 - q)) * ci * co + c;
          for (let i = 0; i < ci; i++) dW[dst + i * co] = o[src + i] as number;
        }
      }
    }
    return dW;
  } finally {
    ops.dispose(xT, out);
  }
}

/** Time spent per phase of the step, accumulated in `ms`, for the benchmark's breakdown; the clock is injected. */
export interface StepTimings {
  now(): number;
  ms: Map<string, number>;
}

/** Adds the time since `since` to `phase`; returns the time now. */
export function recordPhase(timings: StepTimings | undefined, phase: string, since: number): number {
  if (!timings) return 0;
  const now = timings.now();
  timings.ms.set(phase, (timings.ms.get(phase) ?? 0) + now - since);
  return now;
}

export interface LossAndGradients {
  /** Mean softmax cross-entropy over the batch. */
  loss: number;
  /** One per variable, in the order of CnnNet.variables. */
  grads: Float32Array[];
}

/**
 * Loss and gradients of the reference CNN on one batch. `x` is the batch on `backend`
 * ([b, h, w, c]); `labels` its class indices; `logitsWeights` the current values of the
 * logits layer's kernel [hidden, k] and bias [k] (the JS side computes that layer).
 * `classMask` (length k, 0 = masked): HeteroFL's masked cross-entropy, where a masked class's
 * logit is replaced by 0 before the softmax (the reference's masked_fill), so it gets no gradient.
 * Leaves nothing allocated on the backend.
 */
export function cnnLossAndGradients(
  backend: KernelBackend, backendName: string, net: CnnNet, x: TensorInfo, labels: ArrayLike<number>,
  logitsWeights: [Float32Array, Float32Array], timings?: StepTimings, classMask?: ArrayLike<number>,
): LossAndGradients {
  const ops = opsFor(backend, backendName);
  const [h, w, c] = net.inputShape;
  const { f1, f2, hidden, numClasses: k } = net;
  const batch = x.shape[0] as number;
  if (labels.length !== batch) throw new Error(`cnnLossAndGradients: ${labels.length} labels for a batch of ${batch}`);
  if (classMask && classMask.length !== k) throw new Error(`cnnLossAndGradients: classMask has ${classMask.length} entries for ${k} classes`);
  const [w1, b1, w2, b2, wfc, bfc] = net.variables as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const flatSize = (h / 4) * (w / 4) * f2;
  const live: TensorInfo[] = [];
  const keep = (t: TensorInfo) => { live.push(t); return t; };
  // wasm: a view of its heap, no copy, valid until the backend next allocates; cpu: its own array.
  const heap = backend as KernelBackend & { typedArrayFromHeap?: (t: TensorInfo) => Float32Array };
  const view = (t: TensorInfo) => (heap.typedArrayFromHeap ? heap.typedArrayFromHeap(t) : backend.readSync(t.dataId) as Float32Array);
  const read = (t: TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const write = (values: Float32Array, shape: number[]): TensorInfo => keep({ dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' });
  /** A zero-filled tensor to be written through view(); wasm allocates without copying. */
  const zeros = (shape: number[]): TensorInfo => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = write(heap.typedArrayFromHeap ? null as unknown as Float32Array : new Float32Array(size), shape);
    if (heap.typedArrayFromHeap) view(t).fill(0);
    return t;
  };
  let clock = timings?.now() ?? 0;
  const lap = (phase: string) => { clock = recordPhase(timings, phase, clock); };
  const shaped = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
  const plainMatMul = { transposeA: false, transposeB: false } as unknown as NamedAttrMap;
  const convAttrs = { strides: 1, pad: 'same', dilations: 1, dataFormat: 'NHWC', activation: 'relu' } as unknown as NamedAttrMap;
  const poolAttrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as NamedAttrMap;
  const [kh, kw] = net.kernelSize;
  const info2 = backend_util.computeConv2DInfo([batch, h / 2, w / 2, f1], w2.shape as [number, number, number, number], 1, 1, 'same');
  try {
    // Forward.
    const a1 = keep(ops.run('FusedConv2D', { x, filter: w1, bias: b1 }, convAttrs)); // [b, h, w, f1]
    const p1 = keep(ops.run('MaxPool', { x: a1 }, poolAttrs)); // [b, h/2, w/2, f1]
    const a2 = keep(ops.run('FusedConv2D', { x: p1, filter: w2, bias: b2 }, convAttrs)); // [b, h/2, w/2, f2]
    const p2 = keep(ops.run('MaxPool', { x: a2 }, poolAttrs)); // [b, h/4, w/4, f2]
    // fc1 with the large operand on the left of every matmul: the wasm backend packs the
    // right-hand operand (XNNPACK's weights) at every call, and fc1's kernel is new every step.
    // Measured at width 1: fc1 forward and gradients 2.5 ms as flat x W, 1.3 ms as W^T x flat^T.
    const flatT = keep(ops.run('Transpose', { x: shaped(p2, [batch, flatSize]) }, { perm: [1, 0] })); // [flat, b]
    const fcKernelT = keep(ops.run('Transpose', { x: wfc }, { perm: [1, 0] })); // [hidden, flat]
    const hT = keep(ops.run('BatchMatMul', { a: shaped(fcKernelT, [1, hidden, flatSize]), b: shaped(flatT, [1, flatSize, batch]) }, plainMatMul)); // [1, hidden, b]
    const hTv = view(hT);
    const bfcv = view(bfc);
    const hv = new Float32Array(batch * hidden); // fc1's bias and relu here
    for (let u = 0; u < hidden; u++) {
      for (let b = 0; b < batch; b++) hv[b * hidden + u] = Math.max(0, Math.fround((hTv[u * batch + b] as number) + (bfcv[u] as number)));
    }
    lap('forward (kernels)');

    // Logits, softmax cross-entropy and the logits layer's gradients, in JS.
    const [wOut, bOut] = logitsWeights;
    const dz = new Float64Array(batch * k);
    const z = new Float64Array(k);
    let lossSum = 0;
    for (let b = 0; b < batch; b++) {
      let max = -Infinity;
      for (let j = 0; j < k; j++) {
        let s = 0;
        if (!classMask || classMask[j]) {
          s = bOut[j] as number;
          for (let u = 0; u < hidden; u++) s += (hv[b * hidden + u] as number) * (wOut[u * k + j] as number);
        }
        z[j] = s;
        if (s > max) max = s;
      }
      let sumExp = 0;
      for (let j = 0; j < k; j++) sumExp += Math.exp((z[j] as number) - max);
      const label = labels[b] as number;
      lossSum += max + Math.log(sumExp) - (z[label] as number);
      for (let j = 0; j < k; j++) {
        dz[b * k + j] = classMask && !classMask[j] ? 0 : (Math.exp((z[j] as number) - max) / sumExp - (j === label ? 1 : 0)) / batch;
      }
    }
    const gOut = new Float32Array(hidden * k);
    const gbOut = new Float32Array(k);
    const dh = new Float32Array(batch * hidden);
    const dhT = new Float32Array(hidden * batch);
    const gbFc = new Float64Array(hidden);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < k; j++) gbOut[j] = (gbOut[j] as number) + (dz[b * k + j] as number);
      for (let u = 0; u < hidden; u++) {
        const hu = hv[b * hidden + u] as number;
        let s = 0;
        for (let j = 0; j < k; j++) {
          const d = dz[b * k + j] as number;
          s += d * (wOut[u * k + j] as number);
          if (hu !== 0) gOut[u * k + j] = (gOut[u * k + j] as number) + hu * d;
        }
        const g = hu > 0 ? s : 0; // fc1's relu
        dh[b * hidden + u] = g;
        dhT[u * batch + b] = g;
        gbFc[u] = (gbFc[u] as number) + g;
      }
    }
    lap('logits, loss (JS)');

    // fc1: dW = flat^T dh, dflat^T = W dh^T.
    const gFc = keep(ops.run('BatchMatMul', { a: shaped(flatT, [1, flatSize, batch]), b: write(dh, [1, batch, hidden]) }, plainMatMul)); // [1, flat, hidden]
    const dFlatT = keep(ops.run('BatchMatMul', { a: shaped(wfc, [1, flatSize, hidden]), b: write(dhT, [1, hidden, batch]) }, plainMatMul)); // [1, flat, b]
    lap('fc1 gradients (kernels)');

    // conv2: pool + relu gradient in JS, then the filter and input gradients as forward convs.
    const gb2 = new Float64Array(f2);
    const dPre2T = zeros([batch, h / 2, w / 2, f2]);
    const dPre2ChannelsFirst = zeros([f2, h / 2, w / 2, batch]);
    maxPoolReluGrad2x2(view(a2), view(dFlatT), true, [
      { values: view(dPre2T), strides: stridesOf('bhwc', batch, h / 2, w / 2, f2) },
      { values: view(dPre2ChannelsFirst), strides: stridesOf('chwb', batch, h / 2, w / 2, f2) },
    ], gb2, batch, h / 2, w / 2, f2);
    lap('pool + relu gradients (JS)');
    const g2 = filterGradientSmallPacked(ops, p1, dPre2ChannelsFirst, info2, view);
    lap('conv2 filter gradient (kernels)');
    const dP1 = keep(inputGradientByConv(ops, dPre2T, w2, info2)); // [b, h/2, w/2, f1]
    lap('conv2 input gradient (kernels)');

    // conv1: small layers in one JS pass, larger ones like conv2.
    const gb1 = new Float64Array(f1);
    let g1: Float32Array;
    if (batch * h * w * f1 * kh * kw * c <= JS_CONV1_MAX_WORK) {
      const g = new Float64Array(kh * kw * c * f1);
      conv1BackwardThroughPool(view(a1), view(dP1), view(x), g, gb1, batch, h, w, c, f1, kh, kw);
      g1 = Float32Array.from(g);
      lap('conv1 backward (JS)');
    } else {
      // Written straight in the [h, w, b, f1] layout filterGradientByConv transposes dy to.
      const dPre1T = zeros([h, w, batch, f1]);
      maxPoolReluGrad2x2(view(a1), view(dP1), false, [{ values: view(dPre1T), strides: stridesOf('hwbc', batch, h, w, f1) }], gb1, batch, h, w, f1);
      lap('pool + relu gradients (JS)');
      const info1 = backend_util.computeConv2DInfo([batch, h, w, c], w1.shape as [number, number, number, number], 1, 1, 'same');
      g1 = read(keep(filterGradientByConv(ops, x, dPre1T, info1, true)));
      lap('conv1 filter gradient (kernels)');
    }

    const grads = [g1, Float32Array.from(gb1), g2, Float32Array.from(gb2), read(gFc), Float32Array.from(gbFc), gOut, gbOut];
    lap('read gradients');
    return { loss: lossSum / batch, grads };
  } finally {
    ops.dispose(...live);
  }
}
