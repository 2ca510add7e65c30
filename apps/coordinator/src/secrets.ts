/** Comparing and storing secrets (join tokens, client secrets, device tokens): one place for both. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** What the store keeps instead of a secret. */
export const sha256Hex = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Equality in time independent of where the strings differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
