/**
 * The pool store on disk (core stage2/pool-store.ts): one file per chunk,
 *
 *   <root>/<checkpoint>-s<steps>-g<guidance>/<sha256(labels bytes, String(seed)) first 24 hex>.f32
 *
 * raw float32 in the machine's byte order. This is the layout the simulation's cache has always
 * had (apps/simulator, --cache), so caches made before the store existed still hit. A chunk is
 * written to a .tmp file and renamed, so a crash never leaves a short file that a later reader
 * would trust (and a file of the wrong length is treated as absent anyway).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkChunkKey, type GeneratorKey, type PoolStore } from '@fedtsa/core/stage2/pool-store';

/** A generator's identity for the store: the first 16 hex of sha256(model.json, weights). */
export function checkpointIdentity(files: { modelJson: string; weights: Uint8Array }): string {
  return createHash('sha256').update(files.modelJson).update(files.weights).digest('hex').slice(0, 16);
}

export class DiskPoolStore implements PoolStore {
  constructor(readonly root: string) {
    if (typeof root !== 'string' || root === '') throw new Error('DiskPoolStore: root must be a folder path');
  }

  /** The folder of one generator's chunks. */
  dirOf(g: GeneratorKey): string {
    return join(this.root, `${g.checkpoint}-s${g.steps}-g${g.guidance}`);
  }

  /** The file of one chunk. */
  fileOf(fn: string, g: GeneratorKey, labels: Uint8Array, seed: number): string {
    checkChunkKey(fn, g, labels, seed);
    return join(this.dirOf(g), `${createHash('sha256').update(labels).update(String(seed)).digest('hex').slice(0, 24)}.f32`);
  }

  async read(g: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<Float32Array | undefined> {
    const file = this.fileOf('DiskPoolStore.read', g, labels, seed);
    if (!existsSync(file)) return undefined;
    const bytes = readFileSync(file);
    if (bytes.byteLength !== values * 4) return undefined;
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  async has(g: GeneratorKey, labels: Uint8Array, seed: number, values: number): Promise<boolean> {
    const file = this.fileOf('DiskPoolStore.has', g, labels, seed);
    return existsSync(file) && statSync(file).size === values * 4;
  }

  async write(g: GeneratorKey, labels: Uint8Array, seed: number, images: Float32Array): Promise<void> {
    const file = this.fileOf('DiskPoolStore.write', g, labels, seed);
    if (!(images instanceof Float32Array) || images.length === 0 || images.length % labels.length !== 0) {
      throw new Error(`DiskPoolStore.write: images must be a Float32Array holding a whole image per label (${labels.length} labels), got ${images?.length} values`);
    }
    mkdirSync(this.dirOf(g), { recursive: true });
    // Write then rename: a crash never leaves a short file that a later run would trust.
    writeFileSync(`${file}.tmp`, images);
    renameSync(`${file}.tmp`, file);
  }
}
