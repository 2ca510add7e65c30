/**
 * The reference model family as plain data: layer sizes at width 1, and for any width ratio r
 * the shape of every parameter and which elements of the width-1 parameter it keeps
 * (HeteroFL-style: the first ceil(r*C) channels/units of every hidden layer; the input and
 * class dimensions are never pruned). No tfjs here, so the coordinator and protocol can use it.
 *
 *   input [h, w, c] -> conv1 3x3 (16r) relu -> maxpool 2 -> conv2 3x3 (32r) relu -> maxpool 2
 *     -> flatten [h/4 * w/4 * 32r] -> fc1 (128r) relu -> logits (numClasses)
 */
export interface ModelSpec {
  /** [height, width, channels] of one input image, e.g. [28, 28, 1] or [32, 32, 3]. */
  inputShape: readonly [number, number, number];
  numClasses: number;
  /** Width-1 sizes; defaults below. */
  conv1Filters?: number;
  conv2Filters?: number;
  hiddenUnits?: number;
}

export const DEFAULT_SPEC_SIZES = { conv1Filters: 16, conv2Filters: 32, hiddenUnits: 128 } as const;

export interface ParamSpec {
  /** Stable name, e.g. 'conv1/kernel'; the same at every width. */
  name: string;
  shape: number[];
}

/** One entry per parameter, in the order tfjs-layers lists the model's weights. */
export type Manifest = ParamSpec[];

export function scaledSize(size: number, widthRatio: number): number {
  if (!(widthRatio > 0 && widthRatio <= 1)) throw new Error(`scaledSize: widthRatio must be in (0, 1], got ${widthRatio}`);
  return Math.max(1, Math.ceil(widthRatio * size - 1e-9));
}

export function validateSpec(spec: ModelSpec): void {
  const [h, w, c] = spec.inputShape;
  for (const [name, v] of [['height', h], ['width', w], ['channels', c], ['numClasses', spec.numClasses]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`validateSpec: ${name} must be a positive integer, got ${v}`);
  }
  if (h % 4 !== 0 || w % 4 !== 0) throw new Error(`validateSpec: input height and width must be multiples of 4, got ${h}x${w}`);
}

interface Layout {
  h: number; w: number; c: number; f1: number; f2: number; hidden: number; k: number; flatHw: number;
}

function layoutOf(spec: ModelSpec, widthRatio: number): Layout {
  validateSpec(spec);
  const [h, w, c] = spec.inputShape;
  return {
    h, w, c,
    f1: scaledSize(spec.conv1Filters ?? DEFAULT_SPEC_SIZES.conv1Filters, widthRatio),
    f2: scaledSize(spec.conv2Filters ?? DEFAULT_SPEC_SIZES.conv2Filters, widthRatio),
    hidden: scaledSize(spec.hiddenUnits ?? DEFAULT_SPEC_SIZES.hiddenUnits, widthRatio),
    k: spec.numClasses,
    flatHw: (h / 4) * (w / 4),
  };
}

export function modelManifest(spec: ModelSpec, widthRatio: number): Manifest {
  const l = layoutOf(spec, widthRatio);
  return [
    { name: 'conv1/kernel', shape: [3, 3, l.c, l.f1] },
    { name: 'conv1/bias', shape: [l.f1] },
    { name: 'conv2/kernel', shape: [3, 3, l.f1, l.f2] },
    { name: 'conv2/bias', shape: [l.f2] },
    { name: 'fc1/kernel', shape: [l.flatHw * l.f2, l.hidden] },
    { name: 'fc1/bias', shape: [l.hidden] },
    { name: 'logits/kernel', shape: [l.hidden, l.k] },
    { name: 'logits/bias', shape: [l.k] },
  ];
}

export function parameterCount(manifest: Manifest): number {
  return manifest.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * For every parameter of the width-r model, per axis, the indices into the width-1 parameter
 * that it keeps. The flatten layer interleaves channels (NHWC), so fc1's input axis keeps
 * channel c < C_r at every spatial position, not a prefix.
 */
export function keptIndices(spec: ModelSpec, widthRatio: number): number[][][] {
  const full = layoutOf(spec, 1);
  const sub = layoutOf(spec, widthRatio);
  const flatKept: number[] = [];
  for (let p = 0; p < full.flatHw; p++) for (let ch = 0; ch < sub.f2; ch++) flatKept.push(p * full.f2 + ch);
  return [
    [range(3), range(3), range(sub.c), range(sub.f1)],
    [range(sub.f1)],
    [range(3), range(3), range(sub.f1), range(sub.f2)],
    [range(sub.f2)],
    [flatKept, range(sub.hidden)],
    [range(sub.hidden)],
    [range(sub.hidden), range(sub.k)],
    [range(sub.k)],
  ];
}
