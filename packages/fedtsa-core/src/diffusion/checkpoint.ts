/**
 * DDPM checkpoints in the tfjs artifacts format: a model.json whose weightsManifest names
 * the tensors in one binary file, so any tfjs tool can read the weights. The trainer's state
 * (raw weights, optimizer moments, step, loss and fidelity history) travels in the same
 * format so that a long training run can resume. Pure: bytes in, bytes out; the caller does
 * the file I/O.
 */
import type { UNetConfig } from './unet.ts';

export interface CheckpointHistoryEntry {
  step: number;
  loss: number;
  /** Classifier accuracy on generated samples, when measured at this step. */
  fidelity?: number;
  elapsedSec?: number;
}

export interface DdpmCheckpoint {
  config: UNetConfig;
  scheduleSteps: number;
  step: number;
  /** Named float32 tensors: 'ema/<param>' (for sampling), and for resuming 'raw/<param>', 'opt/<k>'. */
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
  history: CheckpointHistoryEntry[];
  /** Free-form provenance: command line, data description, wall time. */
  notes: Record<string, string | number>;
}

export interface CheckpointFiles {
  /** model.json contents. */
  modelJson: string;
  /** The single weights file referenced by model.json. */
  weights: Uint8Array;
  weightsFileName: string;
}

interface ModelJson {
  format: 'fedtsa-ddpm';
  generatedBy: string;
  modelTopology: { config: UNetConfig; scheduleSteps: number; step: number; history: CheckpointHistoryEntry[]; notes: Record<string, string | number> };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
}

export function encodeCheckpoint(checkpoint: DdpmCheckpoint, weightsFileName = 'weights.bin'): CheckpointFiles {
  const names = [...checkpoint.tensors.keys()].sort();
  const total = names.reduce((n, name) => n + (checkpoint.tensors.get(name) as { values: Float32Array }).values.length, 0);
  const data = new Float32Array(total);
  const specs: ModelJson['weightsManifest'][number]['weights'] = [];
  let offset = 0;
  for (const name of names) {
    const t = checkpoint.tensors.get(name) as { shape: number[]; values: Float32Array };
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.values.length !== expected) throw new Error(`encodeCheckpoint: tensor ${name} has ${t.values.length} values, shape needs ${expected}`);
    data.set(t.values, offset);
    offset += t.values.length;
    specs.push({ name, shape: t.shape, dtype: 'float32' });
  }
  const json: ModelJson = {
    format: 'fedtsa-ddpm',
    generatedBy: 'fedtsa',
    modelTopology: { config: checkpoint.config, scheduleSteps: checkpoint.scheduleSteps, step: checkpoint.step, history: checkpoint.history, notes: checkpoint.notes },
    weightsManifest: [{ paths: [weightsFileName], weights: specs }],
  };
  return { modelJson: JSON.stringify(json, null, 1), weights: new Uint8Array(data.buffer), weightsFileName };
}

export function decodeCheckpoint(modelJson: string, weights: Uint8Array): DdpmCheckpoint {
  let json: ModelJson;
  try {
    json = JSON.parse(modelJson) as ModelJson;
  } catch (err) {
    throw new Error(`decodeCheckpoint: model.json is not JSON (${(err as Error).message})`);
  }
  if (json.format !== 'fedtsa-ddpm') throw new Error(`decodeCheckpoint: expected format 'fedtsa-ddpm', got '${String(json.format)}'`);
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const floats = weights.byteLength / 4;
  const needed = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (weights.byteLength % 4 !== 0 || floats !== needed) {
    throw new Error(`decodeCheckpoint: weights hold ${weights.byteLength} bytes, the manifest needs ${needed * 4}`);
  }
  // Copy so the result does not alias (and is aligned regardless of) the caller's buffer.
  const data = new Float32Array(needed);
  new Uint8Array(data.buffer).set(weights);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`decodeCheckpoint: tensor ${s.name} has dtype ${s.dtype}, only float32 is supported`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    tensors.set(s.name, { shape: s.shape, values: data.slice(offset, offset + n) });
    offset += n;
  }
  const top = json.modelTopology;
  return { config: top.config, scheduleSteps: top.scheduleSteps, step: top.step, tensors, history: top.history ?? [], notes: top.notes ?? {} };
}
