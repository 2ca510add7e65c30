/**
 * What every fault drill shares: a real coordinator on port 0 (real Fashion-MNIST, real sockets)
 * with an admin HTTP helper, raw socket.io clients that can misbehave, and VirtualClients that
 * behave; everything a drill opens is closed with it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { modelManifest } from '@fedtsa/core/architecture';
import { decodeWeights, encodeWeights } from '@fedtsa/protocol/codec';
import { CLIENT_NAMESPACE, type TrainingTask, type Welcome } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { SPEC, type Coordinator } from '../app.ts';
import { ADMIN, startCoordinator } from '../test-helpers.ts';
import { VirtualClient, type VirtualClientOptions } from '../virtual-client/virtual-client.ts';

export type Json = Record<string, unknown>;

/**
 * A harness per test file: started before its tests, closed after them (vitest hooks). The
 * returned getter reads it inside a test.
 */
export function useDrillHarness(): () => DrillHarness {
  let drill: DrillHarness | undefined;
  beforeAll(async () => {
    drill = await DrillHarness.start();
  }, 60_000);
  afterAll(async () => {
    await drill?.close();
  });
  return () => drill as DrillHarness;
}

export class DrillHarness {
  readonly virtualClients: VirtualClient[] = [];
  readonly sockets: Socket[] = [];

  private constructor(readonly coordinator: Coordinator, readonly url: string) {}

  static async start(): Promise<DrillHarness> {
    const { coordinator, url } = await startCoordinator();
    return new DrillHarness(coordinator, url);
  }

  async close(): Promise<void> {
    for (const c of this.virtualClients) c.close();
    for (const s of this.sockets) s.close();
    await this.coordinator.close();
  }

  /** An HTTP request as the admin (or with `token`, or none for null); the body parsed as JSON when it is. */
  readonly api = async (method: string, path: string, body?: unknown, token: string | null = ADMIN) => {
    const res = await fetch(`${this.url}${path}`, {
      method, headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, body: json as Json, text };
  };

  /** A socket.io client on the client namespace that does only what the drill makes it do. */
  readonly rawClient = (runId: string, joinToken: string, extra: Json = {}): Socket => {
    const s = io(`${this.url}${CLIENT_NAMESPACE}`, {
      auth: { protocolVersion: PROTOCOL_VERSION, runId, joinToken, ...extra }, transports: ['websocket'], reconnection: false, forceNew: true,
    });
    this.sockets.push(s);
    return s;
  };

  /** A well-behaved client that trains and uploads each task. */
  readonly virtualClient = (options: Omit<VirtualClientOptions, 'url'>): VirtualClient => {
    const vc = new VirtualClient({ url: this.url, ...options });
    this.virtualClients.push(vc);
    return vc;
  };
}

export function welcomed(s: Socket, timeoutMs = 10_000): Promise<Welcome> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no welcome')), timeoutMs);
    s.once('welcome', (w: Welcome) => { clearTimeout(t); resolve(w); });
    s.once('connect_error', (e: Error) => { clearTimeout(t); reject(e); });
  });
}

/** Kills the connection without a close frame or a socket.io disconnect: the client simply vanishes. */
export function vanish(s: Socket): void {
  (s.io.engine.transport as unknown as { ws: { terminate(): void } }).ws.terminate();
}

/** The weights the client was sent, returned unchanged: a well-formed update with distance 0, claiming the `samples` the client holds. */
export function echoUpdate(task: TrainingTask, samples: number) {
  const manifest = modelManifest(SPEC, task.widthRatio);
  return { runId: task.runId, round: task.round, clusterIndex: task.clusterIndex, taskId: task.taskId, numSamples: samples, trainLoss: 0.5, weights: encodeWeights(decodeWeights(task.weights), manifest) };
}

export const sha = (bytes: Uint8Array | Float32Array) => createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
