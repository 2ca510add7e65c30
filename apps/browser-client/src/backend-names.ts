/** Backend names without loading any backend (the page must stay small; the worker loads them). */
import type { BackendName } from '@fedtsa/core/backend';

export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_ORDER as string[]).includes(value);
}
