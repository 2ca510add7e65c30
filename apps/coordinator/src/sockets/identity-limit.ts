/**
 * New identities per address in a sliding minute: a handshake without a client id creates an
 * identity (and, in a demo, deals it a shard), so one address may not mint more than `perMinute`.
 */
export class IdentityLimiter {
  private readonly recent = new Map<string, number[]>();
  private lastSweep: number;

  constructor(private readonly perMinute: number, private readonly windowMs = 60_000, private readonly now: () => number = Date.now) {
    this.lastSweep = now();
  }

  /** Counts one new identity for `address`; false (nothing counted) when the address is at its limit. */
  take(address: string): boolean {
    const t = this.now();
    this.sweep(t);
    const times = (this.recent.get(address) ?? []).filter((x) => t - x < this.windowMs);
    if (times.length >= this.perMinute) {
      this.recent.set(address, times);
      return false;
    }
    times.push(t);
    this.recent.set(address, times);
    return true;
  }

  /** When `address` may create its next identity, ms from now (0 = now). */
  retryAfterMs(address: string): number {
    const times = this.recent.get(address) ?? [];
    if (times.length < this.perMinute) return 0;
    return Math.max(0, (times[times.length - this.perMinute] as number) + this.windowMs - this.now());
  }

  /** Forgets addresses idle for a whole window, at most once per window, so the map tracks only recent ones. */
  private sweep(t: number): void {
    if (t - this.lastSweep < this.windowMs) return;
    this.lastSweep = t;
    for (const [address, times] of this.recent) if (t - (times[times.length - 1] as number) >= this.windowMs) this.recent.delete(address);
  }
}
