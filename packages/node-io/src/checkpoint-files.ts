/** Crash-safe checkpoint files: the weights file is named by step, model.json is swapped in atomically. */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, type DdpmCheckpoint } from '@fedtsa/core/diffusion/checkpoint';

export function readCheckpointFiles(dir: string): { modelJson: string; weights: Uint8Array } | undefined {
  const jsonPath = join(dir, 'model.json');
  if (!existsSync(jsonPath)) return undefined;
  const modelJson = readFileSync(jsonPath, 'utf8');
  const manifest = JSON.parse(modelJson) as { weightsManifest: { paths: string[] }[] };
  const file = manifest.weightsManifest[0]?.paths[0];
  if (!file) throw new Error(`readCheckpointFiles: ${jsonPath} names no weights file`);
  return { modelJson, weights: new Uint8Array(readFileSync(join(dir, file))) };
}

export function readCheckpoint(dir: string): DdpmCheckpoint | undefined {
  const files = readCheckpointFiles(dir);
  return files && decodeCheckpoint(files.modelJson, files.weights);
}

/**
 * Writes weights-<step>.bin, then replaces model.json by rename, then removes older weights.
 * A crash at any point leaves a model.json that names a complete weights file.
 */
export function writeCheckpoint(dir: string, checkpoint: DdpmCheckpoint, options: { emaOnly?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors = options.emaOnly
    ? new Map([...checkpoint.tensors].filter(([name]) => name.startsWith('ema/')))
    : checkpoint.tensors;
  const weightsFile = `weights-${String(checkpoint.step).padStart(6, '0')}.bin`;
  const files = encodeCheckpoint({ ...checkpoint, tensors }, weightsFile);
  writeFileSync(join(dir, `${weightsFile}.tmp`), files.weights);
  renameSync(join(dir, `${weightsFile}.tmp`), join(dir, weightsFile));
  writeFileSync(join(dir, 'model.json.tmp'), files.modelJson);
  renameSync(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
  for (const name of readdirSync(dir)) {
    if (/^weights-\d+\.bin(\.tmp)?$/.test(name) && name !== weightsFile) rmSync(join(dir, name));
  }
}
