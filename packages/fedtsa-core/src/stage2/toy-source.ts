/**
 * A stand-in SyntheticDataSource for tests and smoke runs, where no trained generator is
 * available: class k lights up horizontal band k of the image, plus seeded noise. Learnable
 * by the reference CNN in a few dozen steps, so Stage 2 can be exercised end to end.
 */
import type { LabelledImages } from '../data/dataset.ts';
import { createRng } from '../rng.ts';
import type { SyntheticDataSource } from './synthetic-source.ts';

export interface ToySource extends SyntheticDataSource {
  /** Number of sample() calls and samples drawn so far (to check generation cost). */
  readonly calls: number;
  readonly samplesDrawn: number;
}

export function createToySource(imageShape: readonly [number, number, number], numClasses: number, noise = 0.3): ToySource {
  const [h, w, c] = imageShape;
  if (numClasses < 1 || numClasses > h) throw new Error(`createToySource: need 1 <= numClasses <= height (${h}), got ${numClasses}`);
  let calls = 0;
  let samplesDrawn = 0;
  return {
    imageShape, numClasses,
    get calls() { return calls; },
    get samplesDrawn() { return samplesDrawn; },
    async sample(labels: Uint8Array, seed: number): Promise<LabelledImages> {
      calls++;
      samplesDrawn += labels.length;
      const rng = createRng(seed);
      const per = h * w * c;
      const images = new Float32Array(labels.length * per);
      labels.forEach((label, i) => {
        if (label >= numClasses) throw new Error(`createToySource: label ${label} is not < ${numClasses}`);
        for (let p = 0; p < per; p++) {
          const row = Math.floor(p / (w * c));
          const band = Math.floor((row * numClasses) / h);
          images[i * per + p] = (band === label ? 1 - noise : 0) + noise * rng.next();
        }
      });
      return { images, labels: labels.slice(), count: labels.length, height: h, width: w, channels: c, numClasses };
    },
  };
}
