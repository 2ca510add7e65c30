/**
 * One-use device join tokens (Sybil friction): an operator mints N for a run and hands one to
 * each device; the first handshake with a token creates an identity and uses it up, after which
 * that identity resumes with its id and secret. Only sha256 hashes are stored; the tokens
 * themselves leave the coordinator once, in the response that created them.
 */
import type { DeviceToken, NewDeviceToken } from '@fedtsa/protocol/dashboard';
import { safeEqual, sha256Hex } from '../secrets.ts';
import type { DeviceTokenRecord, RunRecord, RunStore } from '../store/types.ts';
import { randomToken } from './run-registry.ts';

/** A token's public name in listings and revocations: a prefix of its hash, which does not let anyone join. */
export const deviceTokenId = (tokenHash: string): string => tokenHash.slice(0, 16);

export function describeDeviceToken(t: DeviceTokenRecord): DeviceToken {
  return {
    id: deviceTokenId(t.tokenHash), label: t.label, status: t.revokedAt !== null ? 'revoked' : t.usedBy !== null ? 'used' : 'unused',
    createdAt: t.createdAt, usedBy: t.usedBy, usedAt: t.usedAt, revokedAt: t.revokedAt,
  };
}

/** Mints `count` tokens for the run; returns them in clear, the only time they exist outside the devices. */
export function mintDeviceTokens(store: RunStore, runId: string, count: number, label: string, now = Date.now()): NewDeviceToken[] {
  const minted = Array.from({ length: count }, () => {
    const token = randomToken(18);
    return { token, record: { runId, tokenHash: sha256Hex(token), label, createdAt: now, usedBy: null, usedAt: null, revokedAt: null } };
  });
  store.createDeviceTokens(minted.map((m) => m.record));
  return minted.map((m) => ({ token: m.token, ...describeDeviceToken(m.record) }));
}

/** The run's token named by the token itself or by its id (the hash prefix the listing shows). */
export function findDeviceToken(store: RunStore, runId: string, tokenOrId: string): DeviceTokenRecord | undefined {
  return store.getDeviceToken(runId, sha256Hex(tokenOrId))
    ?? (/^[0-9a-f]{16}$/.test(tokenOrId) ? store.listDeviceTokens(runId).find((t) => deviceTokenId(t.tokenHash) === tokenOrId) : undefined);
}

/**
 * Whether a handshake's join token admits it. `claim` is set when a new identity joins with an
 * unused device token, which the caller must then claim for it (store.claimDeviceToken).
 */
export type JoinCheck = { ok: true; claim?: string } | { ok: false; detail: string };

export function checkJoinToken(run: RunRecord, store: RunStore, joinToken: string, clientId: string | undefined): JoinCheck {
  if (safeEqual(joinToken, run.joinToken)) {
    return run.settings.joinMode === 'device-tokens' ? { ok: false, detail: 'this run admits device tokens only' } : { ok: true };
  }
  const tokenHash = sha256Hex(joinToken);
  const device = store.getDeviceToken(run.id, tokenHash);
  if (!device) return { ok: false, detail: 'not a token of this run' };
  if (device.revokedAt !== null) return { ok: false, detail: 'this device token was revoked' };
  if (clientId === undefined) return device.usedBy === null ? { ok: true, claim: tokenHash } : { ok: false, detail: 'this device token was used already; resume with the identity it created' };
  return device.usedBy === clientId ? { ok: true } : { ok: false, detail: 'this device token belongs to another identity' };
}
