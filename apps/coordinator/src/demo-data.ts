/**
 * Demo data: a browser in a demo has no labelled data of its own, so the coordinator deals each
 * client a non-IID shard of a task's client pool (never the public pool its generator saw, never
 * validation or test images). The hold-out is the project's standard one (core data/holdout.ts,
 * fractions of the training set: Fashion-MNIST's 10,000 public and 5,000 validation of 60,000).
 */
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { holdoutSplit, STANDARD_HOLDOUT } from '@fedtsa/core/data/holdout';
import { partitionDirichlet } from '@fedtsa/core/data/partition';
import { createRng, deriveSeed, shuffleInPlace } from '@fedtsa/core/rng';
import type { DemoShard } from '@fedtsa/protocol/events';

export interface DemoOptions {
  shards: number;
  samplesPerShard: number;
  alpha: number;
  seed: number;
}

export class DemoData {
  private readonly shards: { images: Uint8Array; labels: Uint8Array; count: number }[];

  constructor(train: LabelledImages, options: DemoOptions) {
    const split = holdoutSplit(train.count, STANDARD_HOLDOUT);
    const pool = shuffleInPlace(createRng(deriveSeed(options.seed, 21)), [...split.clientPool]).slice(0, options.shards * options.samplesPerShard);
    // A small dataset makes fewer shards of the asked size (clients beyond them share shards), down to one of all it has.
    if (pool.length < 10) throw new Error(`demo data: ${pool.length} training images left for the clients, fewer than one shard of 10; the task needs more images`);
    const shards = Math.max(1, Math.min(options.shards, Math.floor(pool.length / options.samplesPerShard)));
    const data = subset(train, pool);
    const parts = partitionDirichlet(data.labels, shards, options.alpha, createRng(deriveSeed(options.seed, 22)), {
      minPerClient: Math.min(10, Math.floor(data.count / shards)),
    });
    const size = data.height * data.width * data.channels;
    this.shards = parts.map((rows) => {
      const images = new Uint8Array(rows.length * size);
      rows.forEach((r, i) => {
        for (let j = 0; j < size; j++) images[i * size + j] = Math.round((data.images[r * size + j] as number) * 255);
      });
      return { images, labels: Uint8Array.from(rows, (r) => data.labels[r] as number), count: rows.length };
    });
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** The first shard nobody holds yet; when all are taken, shards are shared round-robin. */
  freeShard(used: ReadonlySet<number | null>): number {
    for (let i = 0; i < this.shards.length; i++) if (!used.has(i)) return i;
    return used.size % this.shards.length;
  }

  shardSize(index: number): number {
    return this.shards[index]?.count ?? 0;
  }

  shard(index: number): DemoShard | undefined {
    const s = this.shards[index];
    return s && { images: s.images, labels: s.labels, count: s.count };
  }
}
