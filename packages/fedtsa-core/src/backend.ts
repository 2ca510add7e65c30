/**
 * Backend selection shared by Node (simulation, coordinator) and the browser client.
 * Importing this module registers the cpu and wasm backends; the fast conv gradients are
 * installed on both so a CNN trains everywhere (see kernels/conv-gradients.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (tfjs-core alone registers none in Node).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastConvGradients } from './kernels/conv-gradients.ts';
import { registerFastPoolAndMatMul } from './kernels/pool-matmul.ts';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Switches tfjs to `name` and installs the fast conv gradients on it. Throws if unavailable. */
export async function useBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`useBackend: backend '${name}' failed to initialise`);
  await tf.ready();
  if (name === 'wasm' || name === 'cpu') {
    registerFastConvGradients(name);
    registerFastPoolAndMatMul(name);
  }
}
