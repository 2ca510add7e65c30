/**
 * Where generated chunks (chunked-source.ts) are kept, so that a chunk is drawn once and then
 * read back: by a later round, a restarted coordinator, another run or a simulation of the same
 * task. A chunk's images depend only on (generator, sampling settings, labels, seed), so that is
 * the key; the generator is named by a hash of its checkpoint's bytes (node-io's
 * checkpointIdentity), so a retrained generator never reads another's images.
 *
 * On disk by default (node-io pool-store-disk.ts); MemoryPoolStore here for tests. A later
 * scale-out can put them elsewhere (an object store) behind the same interface.
 */
import type { ChunkSampler } from './chunked-source.ts';
import type { ReadyChunkSource } from './synthetic-pool.ts';

/** A generator and the settings it samples with: every chunk it makes is keyed under it. */
export interface GeneratorKey {
  /** Hash of the checkpoint's bytes (hex). */
  checkpoint: string;
  /** DDIM steps. */
  steps: number;
  /** Classifier-free guidance scale. */
  guidance: number;
}

export interface PoolStore {
  /** The chunk's images, or undefined when it is absent or not `values` long (a short write is never trusted). */
  read(generator: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<Float32Array | undefined>;
  /** Whether read() would find the chunk, without reading it. */
  has(generator: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<boolean>;
  /** Keeps the chunk; a reader sees either nothing or all of it. */
  write(generator: GeneratorKey, labels: Uint8Array, seed: number, images: Float32Array): Promise<void>;
}

/** Refuses what no store should key: a generator without identity, settings that are not numbers, a seed that is not a 32-bit integer (deriveSeed gives int32 or uint32). */
export function checkChunkKey(fn: string, generator: GeneratorKey, labels: Uint8Array, seed: number): void {
  if (!/^[0-9a-f]{8,64}$/.test(generator.checkpoint)) throw new Error(`${fn}: generator.checkpoint must be a hex hash, got '${generator.checkpoint}'`);
  if (!(Number.isInteger(generator.steps) && generator.steps >= 1)) throw new Error(`${fn}: generator.steps must be a positive integer, got ${generator.steps}`);
  if (!Number.isFinite(generator.guidance)) throw new Error(`${fn}: generator.guidance must be finite, got ${generator.guidance}`);
  if (!(labels instanceof Uint8Array) || labels.length === 0) throw new Error(`${fn}: labels must be a non-empty Uint8Array`);
  if (!(Number.isInteger(seed) && seed >= -0x80000000 && seed <= 0xffffffff)) throw new Error(`${fn}: seed must be a 32-bit integer, got ${seed}`);
}

/** In memory, for tests and for a process that wants no disk. */
export class MemoryPoolStore implements PoolStore {
  private readonly chunks = new Map<string, Float32Array>();

  get size(): number {
    return this.chunks.size;
  }

  private key(fn: string, g: GeneratorKey, labels: Uint8Array, seed: number): string {
    checkChunkKey(fn, g, labels, seed);
    return `${g.checkpoint}-s${g.steps}-g${g.guidance}/${labels.join(',')}/${seed}`;
  }

  async read(g: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<Float32Array | undefined> {
    const x = this.chunks.get(this.key('MemoryPoolStore.read', g, labels, seed));
    return x && x.length === values ? x.slice() : undefined;
  }

  async has(g: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<boolean> {
    return this.chunks.get(this.key('MemoryPoolStore.has', g, labels, seed))?.length === values;
  }

  async write(g: GeneratorKey, labels: Uint8Array, seed: number, images: Float32Array): Promise<void> {
    this.chunks.set(this.key('MemoryPoolStore.write', g, labels, seed), images.slice());
  }
}

/** A sampler that reads a chunk from the store when it is there and draws and keeps it when not. */
export function cachingSampler(
  store: PoolStore, generator: GeneratorKey, valuesPerImage: number, draw: ChunkSampler,
  counts: { drawn: number; read: number } = { drawn: 0, read: 0 },
): ChunkSampler {
  return async (labels, seed) => {
    const kept = await store.read(generator, labels, seed, labels.length * valuesPerImage);
    if (kept) {
      counts.read += labels.length;
      return kept;
    }
    const images = await draw(labels, seed);
    counts.drawn += labels.length;
    await store.write(generator, labels, seed, images);
    return images;
  };
}

/** The store's chunks of one generator as a pool's source that never draws: what is not made yet is undefined. */
export function storedChunks(store: PoolStore, generator: GeneratorKey, imageShape: readonly [number, number, number], numClasses: number): ReadyChunkSource {
  const per = imageShape[0] * imageShape[1] * imageShape[2];
  return { imageShape, numClasses, readyChunk: (labels, seed) => store.read(generator, labels, seed, labels.length * per) };
}
