import { describe, expect, it } from 'vitest';
import { contextNotice, missingFeatures } from './secure-context.ts';

const SECURE = { isSecureContext: true, hasGpu: true, hasWakeLock: true, hasSubtleCrypto: true };
const HTTP = { isSecureContext: false, hasGpu: false, hasWakeLock: false, hasSubtleCrypto: false };

describe('the secure-context notice', () => {
  it('says nothing when every feature is there', () => {
    expect(missingFeatures(SECURE)).toEqual([]);
    expect(contextNotice(SECURE)).toBeUndefined();
  });

  it('over http:// names the three losses and the https:// fix', () => {
    expect(missingFeatures(HTTP).map((m) => m.feature)).toEqual(['webgpu', 'wake-lock', 'subtle-crypto']);
    const text = contextNotice(HTTP)!;
    expect(text).toContain('plain http://');
    expect(text).toContain('open the https:// link');
    expect(text).toMatch(/WebGPU.*processor/);
    expect(text).toMatch(/screen may turn off/);
  });

  it('in a secure context without WebGPU blames the browser, not the link', () => {
    const text = contextNotice({ ...SECURE, hasGpu: false })!;
    expect(text).toContain('WebGPU');
    expect(text).not.toContain('https://');
  });
});
