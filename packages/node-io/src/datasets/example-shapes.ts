/**
 * Simple shapes for the example datasets: each image one shape (its class) at a random
 * position, size and angle, with random brightness (or colours) and pixel noise, so that a
 * small CNN learns them well above chance but not perfectly (small rings look like circles,
 * noisy triangles like squares).
 */
import { createRng, randomNormal, type Rng } from '@fedtsa/core/rng';

export const SHAPES = ['circle', 'ring', 'square', 'triangle', 'cross', 'bar'] as const;
export type Shape = (typeof SHAPES)[number];

/** Inside test in the shape's own frame, where the shape spans about [-1, 1]. */
function inside(shape: Shape, x: number, y: number): boolean {
  switch (shape) {
    case 'circle': return x * x + y * y < 1;
    case 'ring': { const r = x * x + y * y; return r < 1 && r > 0.36; }
    case 'square': return Math.abs(x) < 0.8 && Math.abs(y) < 0.8;
    case 'triangle': return y < 0.6 && y > -0.9 + 1.76 * Math.abs(x);
    case 'cross': return (Math.abs(x) < 0.28 && Math.abs(y) < 1) || (Math.abs(y) < 0.28 && Math.abs(x) < 1);
    case 'bar': return Math.abs(x) < 1 && Math.abs(y) < 0.25;
  }
}

export interface ShapeImage {
  /** [height, width, channels] bytes. */
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 3;
}

const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.next();

/** One image of `shape`; 2x2 supersampling smooths the edges. */
export function drawShape(shape: Shape, height: number, width: number, channels: 1 | 3, rng: Rng): ShapeImage {
  const side = Math.min(height, width);
  const scale = uniform(rng, 0.2, 0.4); // half-size as a share of the shorter side
  const [cx, cy] = [uniform(rng, scale, 1 - scale) * width, uniform(rng, scale, 1 - scale) * height];
  const angle = uniform(rng, 0, Math.PI);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const bg = Array.from({ length: channels }, () => uniform(rng, 0, 0.35));
  const fg = Array.from({ length: channels }, () => uniform(rng, 0.55, 1));
  const noise = uniform(rng, 0.04, 0.15);
  const pixels = new Uint8Array(height * width * channels);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let cover = 0;
      for (const [sx, sy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
        const [dx, dy] = [(px + sx - cx) / (scale * side), (py + sy - cy) / (scale * side)];
        if (inside(shape, cos * dx + sin * dy, -sin * dx + cos * dy)) cover += 0.25;
      }
      for (let k = 0; k < channels; k++) {
        const v = (bg[k] as number) + cover * ((fg[k] as number) - (bg[k] as number)) + noise * randomNormal(rng);
        pixels[(py * width + px) * channels + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { pixels, height, width, channels };
}

/** `count` images of one size, classes in turn (balanced), as IDX-ready bytes [count, h, w, c] and labels. */
export function shapesDataset(count: number, height: number, width: number, channels: 1 | 3, classes: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  if (!(classes >= 2 && classes <= SHAPES.length)) throw new Error(`shapesDataset: classes must be from 2 to ${SHAPES.length}, got ${classes}`);
  const rng = createRng(seed);
  const per = height * width * channels;
  const images = new Uint8Array(count * per);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % classes;
    images.set(drawShape(SHAPES[i % classes] as Shape, height, width, channels, rng).pixels, i * per);
  }
  return { images, labels };
}

/** Rec. 601 luma of an RGB triple in [0, 1]. */
const luma = (c: readonly number[]): number => 0.299 * (c[0] as number) + 0.587 * (c[1] as number) + 0.114 * (c[2] as number);

/**
 * One colour image of `shape` on a varied background: a two-colour gradient at a random angle,
 * on 40% of images overlaid with soft stripes (period 6 to 12 pixels); a shape of a random
 * colour (at least 0.15 luma away from the background's mean, so it stays visible), shaded
 * across its extent, then light pixel noise. Varies scale (0.22 to 0.42 of the side), all
 * colours, texture and noise level; the shape sits near the centre (within 6% of the side) and
 * within 20 degrees of upright, as the objects of Fashion-MNIST or CIFAR do. Measured on earlier
 * versions (checkpoints/colour-shapes-ddpm/README.md): with shapes at any position and angle, a
 * 790k-parameter generator stayed below 40% fidelity after 2,000 steps (centring alone did not
 * help), while the same U-Net learned Fashion-MNIST's aligned classes to 96% in 2,000 steps: a
 * class whose mean image is a rotation-averaged blob gives the denoiser nothing to steer by.
 */
export function drawColourShape(shape: Shape, side: number, rng: Rng): ShapeImage {
  const scale = uniform(rng, 0.22, 0.42);
  const [cx, cy] = [(0.5 + uniform(rng, -0.06, 0.06)) * side, (0.5 + uniform(rng, -0.06, 0.06)) * side];
  const angle = uniform(rng, -0.35, 0.35); // within 20 degrees of upright
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const bgA = [uniform(rng, 0, 1), uniform(rng, 0, 1), uniform(rng, 0, 1)];
  const bgB = bgA.map((v) => Math.min(1, Math.max(0, v + uniform(rng, -0.35, 0.35))));
  const stripes = rng.next() < 0.4 ? uniform(rng, 0.04, 0.12) : 0; // stripe amplitude
  const texAngle = uniform(rng, 0, Math.PI);
  const period = uniform(rng, 6, 12);
  const bgLuma = (luma(bgA) + luma(bgB)) / 2;
  let fg = [uniform(rng, 0, 1), uniform(rng, 0, 1), uniform(rng, 0, 1)];
  for (let tries = 0; tries < 20 && Math.abs(luma(fg) - bgLuma) < 0.15; tries++) fg = [uniform(rng, 0, 1), uniform(rng, 0, 1), uniform(rng, 0, 1)];
  if (Math.abs(luma(fg) - bgLuma) < 0.15) fg = fg.map((v) => (bgLuma > 0.5 ? v * 0.3 : 0.7 + 0.3 * v));
  const shade = uniform(rng, -0.2, 0.2); // brightness change across the shape, along its own x axis
  const noise = uniform(rng, 0.01, 0.04);
  const pixels = new Uint8Array(side * side * 3);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      const along = ((px - side / 2) * Math.cos(texAngle) + (py - side / 2) * Math.sin(texAngle)) / side; // [-0.7, 0.7]
      const t = Math.min(1, Math.max(0, along + 0.5));
      const stripe = stripes * Math.sin((2 * Math.PI * along * side) / period);
      let cover = 0;
      let u = 0;
      for (const [sx, sy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
        const [dx, dy] = [(px + sx - cx) / (scale * side), (py + sy - cy) / (scale * side)];
        u = cos * dx + sin * dy;
        if (inside(shape, u, -sin * dx + cos * dy)) cover += 0.25;
      }
      for (let k = 0; k < 3; k++) {
        const bg = (bgA[k] as number) + t * ((bgB[k] as number) - (bgA[k] as number)) + stripe;
        const v = bg + cover * ((fg[k] as number) * (1 + shade * u) - bg) + noise * randomNormal(rng);
        pixels[(py * side + px) * 3 + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { pixels, height: side, width: side, channels: 3 };
}

/** `count` colour images [count, side, side, 3], classes in turn (balanced), and labels. */
export function colourShapesDataset(count: number, side: number, classes: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  if (!(classes >= 2 && classes <= SHAPES.length)) throw new Error(`colourShapesDataset: classes must be from 2 to ${SHAPES.length}, got ${classes}`);
  const rng = createRng(seed);
  const per = side * side * 3;
  const images = new Uint8Array(count * per);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % classes;
    images.set(drawColourShape(SHAPES[i % classes] as Shape, side, rng).pixels, i * per);
  }
  return { images, labels };
}
