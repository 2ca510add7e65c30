/**
 * What a page opened over plain http:// (from another machine: localhost counts as secure)
 * cannot use, in the words its user needs. Browsers give WebGPU, the screen wake lock and Web
 * Crypto's crypto.subtle to secure contexts only; the page still trains on what it has (wasm
 * or WebGL on the processor), and says so.
 */

export interface ContextFacts {
  isSecureContext: boolean;
  hasGpu: boolean;
  hasWakeLock: boolean;
  hasSubtleCrypto: boolean;
}

export interface MissingFeature {
  feature: 'webgpu' | 'wake-lock' | 'subtle-crypto';
  /** What the device loses, in plain words. */
  loss: string;
}

/** What this page can see of the browser it runs in. */
export function readContextFacts(): ContextFacts {
  return {
    isSecureContext: globalThis.isSecureContext === true,
    hasGpu: 'gpu' in navigator && (navigator as { gpu?: unknown }).gpu !== undefined,
    hasWakeLock: 'wakeLock' in navigator,
    hasSubtleCrypto: globalThis.crypto?.subtle !== undefined,
  };
}

export function missingFeatures(facts: ContextFacts): MissingFeature[] {
  const missing: MissingFeature[] = [];
  if (!facts.hasGpu) missing.push({ feature: 'webgpu', loss: 'WebGPU: the graphics chip cannot train, so training runs on the processor, often several times slower' });
  if (!facts.hasWakeLock) missing.push({ feature: 'wake-lock', loss: 'the screen wake lock: the screen may turn off mid-round and pause training, so keep it on by hand' });
  if (!facts.hasSubtleCrypto) missing.push({ feature: 'subtle-crypto', loss: 'Web Crypto (crypto.subtle): this page does not need it today, but the browser withholds it too' });
  return missing;
}

/**
 * The notice to show, or undefined when nothing is missing. Over http:// the fix is the
 * https:// link; in a secure context a missing feature is the browser's own limit.
 */
export function contextNotice(facts: ContextFacts): string | undefined {
  const missing = missingFeatures(facts);
  if (missing.length === 0) return undefined;
  const list = missing.map((m) => `• ${m.loss}.`).join('\n');
  if (!facts.isSecureContext) {
    return 'This page was opened over plain http://, so the browser holds back some features. You can still train, more slowly:\n' +
      `${list}\nTo fix it, open the https:// link from the organiser instead (organiser: start the coordinator with --tls self-signed, ` +
      'see "Phones and HTTPS" in its README).';
  }
  return `This browser does not offer everything this page can use. You can still train:\n${list}`;
}
