/**
 * Where Stage 2 gets its labelled samples: the server's own class-conditional generator
 * (diffusion/), or in a deployment with a GPU, a bigger one. Never client data.
 */
import type { LabelledImages } from '../data/dataset.ts';

export interface SyntheticDataSource {
  /** Images are [h, w, c] in [0, 1], as the classifiers expect. */
  readonly imageShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Draws one sample per entry of `labels`, in that order. Deterministic for a seed. */
  sample(labels: Uint8Array, seed: number): Promise<LabelledImages>;
}
