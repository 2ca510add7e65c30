/**
 * A synthetic source that draws in fixed chunks: a request is cut into chunks of SAMPLE_CHUNK
 * labels, chunk j sampled with seed deriveSeed(seed, j). So the images depend only on (generator,
 * sampling settings, labels, seed), never on where or how many chunks run at once: the
 * simulation spreads them over its training workers and keeps them in a disk cache, the
 * coordinator's aggregation worker draws them one after another, and both get the same pool.
 */
import type { LabelledImages } from '../data/dataset.ts';
import { deriveSeed } from '../rng.ts';
import type { SyntheticDataSource } from './synthetic-source.ts';

/** Samples per chunk: one DDIM batch, the unit of caching and of work per worker. */
export const SAMPLE_CHUNK = 25;

/** Draws one chunk: one image per label, [h, w, c] in [0, 1], flattened in label order. */
export type ChunkSampler = (labels: Uint8Array, seed: number) => Promise<Float32Array>;

/** One chunk of a request: its labels (a copy), its seed, and where it starts in the request. */
export interface Chunk {
  start: number;
  labels: Uint8Array;
  seed: number;
}

/** How a request of `labels` drawn with `seed` is cut into chunks: the one rule every drawer and every store follows. */
export function chunksOf(labels: Uint8Array, seed: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let start = 0, j = 0; start < labels.length; start += SAMPLE_CHUNK, j++) {
    chunks.push({ start, labels: labels.slice(start, start + SAMPLE_CHUNK), seed: deriveSeed(seed, j) });
  }
  return chunks;
}

export class ChunkedSource implements SyntheticDataSource {
  constructor(
    readonly imageShape: readonly [number, number, number],
    readonly numClasses: number,
    private readonly sampleChunk: ChunkSampler,
  ) {}

  /** The chunks of a generator (any source), drawn from it directly. */
  static over(source: SyntheticDataSource): ChunkedSource {
    return new ChunkedSource(source.imageShape, source.numClasses, async (labels, seed) => (await source.sample(labels, seed)).images);
  }

  async sample(labels: Uint8Array, seed: number): Promise<LabelledImages> {
    const [height, width, channels] = this.imageShape;
    const per = height * width * channels;
    const images = new Float32Array(labels.length * per);
    await Promise.all(chunksOf(labels, seed).map(({ start, labels: chunkLabels, seed: chunkSeed }) => this.sampleChunk(chunkLabels, chunkSeed).then((x) => {
      if (x.length !== chunkLabels.length * per) throw new Error(`ChunkedSource: a chunk of ${chunkLabels.length} labels came back with ${x.length} values, expected ${chunkLabels.length * per}`);
      images.set(x, start * per);
    })));
    return { images, labels: labels.slice(), count: labels.length, height, width, channels, numClasses: this.numClasses };
  }
}
