import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ALLOWED = new Set(['socket.io-client', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', './wire-format.ts', './reference-cnn.ts']);
const CLIENT_FILES = ['independent-client.ts', 'reference-cnn.ts', 'wire-format.ts'];

describe('the independent client', () => {
  it('imports nothing from the project: only socket.io-client, tfjs-core and its backends, and its own files', () => {
    const dir = new URL('.', import.meta.url);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(CLIENT_FILES));
    const seen = new Set<string>();
    for (const file of CLIENT_FILES) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      const imported = [...source.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
      for (const spec of imported) {
        seen.add(spec as string);
        expect(ALLOWED.has(spec as string), `${file} imports ${spec}`).toBe(true);
      }
    }
    // The scan does find imports (a scan that finds none would pass anything).
    expect([...seen]).toEqual(expect.arrayContaining(['socket.io-client', '@tensorflow/tfjs-core', './wire-format.ts', './reference-cnn.ts']));
  });
});
