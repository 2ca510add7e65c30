/**
 * A training client written from docs/protocol.md alone: it imports nothing from the project
 * (only socket.io-client, tfjs-core and its cpu backend, and its two sibling files), so the
 * conformance suite checks the coordinator against the document, not against shared code.
 *
 * The API is small and permissive on purpose: attack tests build wrong messages through the
 * same calls (`upload`'s overrides, `emitRaw`), and every answer comes back as the wire's Ack.
 *
 *   const c = await IndependentClient.connect({ url, runId, joinToken });
 *   await c.report({ samplesPerSec: 500, backend: 'node' });
 *   const shard = await c.demoShard();
 *   const task = await c.nextTask(30_000);
 *   const ack = await c.upload(task, c.train(task, shard), { numSamples: shard.count });
 */
import { io, type Socket } from 'socket.io-client';
import { readyBackend, trainSgd, type LabelledData } from './reference-cnn.ts';
import { decodeValues, encodeValues, type WireDtype, type WireManifestEntry } from './wire-format.ts';

export const PROTOCOL = 4;

export interface Refusal {
  code: string;
  message: string;
}
export type Ack<T> = { ok: true; value: T } | { ok: false; error: Refusal };

export interface Welcome {
  clientId: string;
  clientSecret: string;
  runId: string;
  resumed: boolean;
  /** The run's task: shape, class names, normalisation and the reference CNN's width-1 sizes. */
  task: {
    name: string; inputShape: [number, number, number]; classNames: string[]; normalisation: 'unit';
    model: { family: 'reference-cnn'; conv1Filters: number; conv2Filters: number; hiddenUnits: number };
  };
  serverEvaluates: boolean;
  demoShard?: { samples: number };
}

export interface Assignment {
  clusterIndex: number;
  widthRatio: number;
  clusters: number;
}

export interface Task {
  runId: string;
  round: number;
  taskId: string;
  clusterIndex: number;
  widthRatio: number;
  deadline: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  weights: { manifest: WireManifestEntry[]; dtype: WireDtype; data: ArrayBuffer | Uint8Array };
}

export interface RoundClosed {
  runId: string;
  round: number;
  accepted: boolean;
  refusal?: Refusal;
}

export interface Shard extends LabelledData {
  /** The bytes as received: 0-255, [count, 28, 28, 1]. */
  pixels: Uint8Array;
}

export interface ConnectOptions {
  url: string;
  runId: string;
  joinToken: string;
  clientId?: string;
  clientSecret?: string;
  /** Defaults to 2; set another to test the refusal. */
  protocolVersion?: number;
  /** Merged into the handshake's auth last (malformed handshakes). */
  authOverride?: Record<string, unknown>;
  timeoutMs?: number;
}

export interface CapabilityReport {
  samplesPerSec: number;
  backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu' | 'node';
  memoryGb?: number;
  cores?: number;
  ownDataSamples?: number;
  label?: string;
}

export interface UploadOptions {
  numSamples: number;
  dtype?: WireDtype;
  /** Another task id; `null` leaves the field out. */
  taskId?: string | null;
  trainLoss?: number;
  /** Sent instead of the task's manifest. */
  manifest?: WireManifestEntry[];
  /** Top-level fields merged in last; `undefined` deletes one. */
  fields?: Record<string, unknown>;
  timeoutMs?: number;
}

/** The handshake was refused: `code` comes from the error's `data.code`. */
export class ConnectRefused extends Error {
  constructor(readonly code: string | undefined, message: string) {
    super(message);
  }
}

/** Messages of one kind, kept until a caller takes them; a waiting caller gets the first that matches. */
class Inbox<T> {
  readonly all: T[] = [];
  private readonly pending: T[] = [];
  private readonly waiters: { match: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  push(item: T): void {
    this.all.push(item);
    const w = this.waiters.findIndex((x) => x.match(item));
    if (w >= 0) this.waiters.splice(w, 1)[0]?.resolve(item);
    else this.pending.push(item);
  }

  take(match: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const i = this.pending.findIndex(match);
    if (i >= 0) return Promise.resolve(this.pending.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

export class IndependentClient {
  readonly tasks = new Inbox<Task>();
  readonly closed = new Inbox<RoundClosed>();
  readonly refusals = new Inbox<Refusal>();
  readonly assignments: Assignment[] = [];
  readonly runStates: { runId: string; state: string; round: number }[] = [];
  /** Why the coordinator or the network ended the connection, when it did. */
  disconnectReason: string | undefined;
  /** Mean loss of the last epoch of the last `train`. */
  lastLoss: number | undefined;

  private constructor(readonly socket: Socket, readonly welcome: Welcome) {}

  /**
   * Connects and resolves with the client once `welcome` arrives; rejects with ConnectRefused on
   * a refused handshake. Readies a tfjs backend first (wasm, else cpu) unless one is set.
   */
  static async connect(options: ConnectOptions): Promise<IndependentClient> {
    await readyBackend();
    const auth: Record<string, unknown> = { protocolVersion: options.protocolVersion ?? PROTOCOL, runId: options.runId, joinToken: options.joinToken };
    if (options.clientId !== undefined) auth.clientId = options.clientId;
    if (options.clientSecret !== undefined) auth.clientSecret = options.clientSecret;
    Object.assign(auth, options.authOverride);
    const socket = io(`${options.url}/client`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    // Everything the coordinator sends right after the welcome (run-state, assignment, a task) is kept from the start.
    const early: [string, unknown][] = [];
    socket.onAny((event: string, payload: unknown) => early.push([event, payload]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`no welcome within ${options.timeoutMs ?? 10_000} ms`));
      }, options.timeoutMs ?? 10_000);
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
        clearTimeout(timer);
        socket.close();
        reject(new ConnectRefused(err.data?.code, err.message));
      });
      socket.once('welcome', (welcome: Welcome) => {
        clearTimeout(timer);
        const client = new IndependentClient(socket, welcome);
        socket.offAny();
        for (const [event, payload] of early) if (event !== 'welcome') client.receive(event, payload);
        socket.onAny((event: string, payload: unknown) => client.receive(event, payload));
        socket.on('disconnect', (reason) => { client.disconnectReason = reason; });
        resolve(client);
      });
    });
  }

  private receive(event: string, payload: unknown): void {
    if (event === 'task') this.tasks.push(payload as Task);
    else if (event === 'round-closed') this.closed.push(payload as RoundClosed);
    else if (event === 'refused') this.refusals.push(payload as Refusal);
    else if (event === 'assignment') this.assignments.push(payload as Assignment);
    else if (event === 'run-state') this.runStates.push(payload as IndependentClient['runStates'][number]);
  }

  private request<T>(event: string, payload: unknown, timeoutMs = 30_000): Promise<Ack<T>> {
    return this.socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Ack<T>>;
  }

  report(report: CapabilityReport): Promise<Ack<Assignment | { waiting: true }>> {
    return this.request('capability', report);
  }

  /** The demo shard, with the pixels also scaled to [0, 1]; throws with the refusal's code if there is none. */
  async demoShard(): Promise<Shard> {
    const ack = await this.request<{ images: ArrayBuffer | Uint8Array; labels: ArrayBuffer | Uint8Array; count: number }>('demo-shard', {});
    if (!ack.ok) throw new ConnectRefused(ack.error.code, `demo-shard refused: ${ack.error.message}`);
    const pixels = new Uint8Array(ack.value.images);
    const labels = new Uint8Array(ack.value.labels);
    const { count } = ack.value;
    if (pixels.length !== count * 28 * 28 || labels.length !== count) throw new Error(`demoShard: ${pixels.length} pixels and ${labels.length} labels for ${count} images`);
    return { pixels, images: Float32Array.from(pixels, (p) => p / 255), labels, count };
  }

  nextTask(timeoutMs = 30_000): Promise<Task> {
    return this.tasks.take(() => true, timeoutMs, 'a task');
  }

  roundClosed(round: number, timeoutMs = 60_000): Promise<RoundClosed> {
    return this.closed.take((x) => x.round === round, timeoutMs, `round-closed ${round}`);
  }

  nextRefusal(timeoutMs = 5000): Promise<Refusal> {
    return this.refusals.take(() => true, timeoutMs, 'a refused event');
  }

  /** The task's model as float32 values in manifest order. */
  static weightsOf(task: Task): Float32Array {
    return decodeValues(task.weights.data, task.weights.dtype, task.weights.manifest);
  }

  /** Trains the task's model on `data` (SGD; `momentum` 0 unless given) and returns the new weights. */
  train(task: Task, data: LabelledData, options: { momentum?: number; seed?: number } = {}): Float32Array {
    if (task.optimizer !== 'sgd') throw new Error(`train: this client implements sgd only, the task asks for ${task.optimizer}`);
    const result = trainSgd(IndependentClient.weightsOf(task), task.weights.manifest, data, {
      epochs: task.epochs, batchSize: task.batchSize, learningRate: task.learningRate, momentum: options.momentum ?? 0, seed: options.seed ?? task.round,
    });
    this.lastLoss = result.loss;
    return result.weights;
  }

  upload(task: Task, weights: Float32Array, options: UploadOptions): Promise<Ack<{ accepted: true; round: number }>> {
    const dtype = options.dtype ?? 'float32';
    const payload: Record<string, unknown> = {
      runId: task.runId, round: task.round, clusterIndex: task.clusterIndex, taskId: options.taskId ?? task.taskId,
      numSamples: options.numSamples, trainLoss: options.trainLoss ?? this.lastLoss ?? 0,
      weights: { manifest: options.manifest ?? task.weights.manifest, dtype, data: encodeValues(weights, dtype) },
    };
    if (options.taskId === null) delete payload.taskId;
    for (const [key, value] of Object.entries(options.fields ?? {})) {
      if (value === undefined) delete payload[key];
      else payload[key] = value;
    }
    return this.request('update', payload, options.timeoutMs);
  }

  /** Sends any event with any arguments and waits for the ack (malformed messages). */
  requestRaw(event: string, ...args: unknown[]): Promise<unknown> {
    return this.socket.timeout(10_000).emitWithAck(event, ...args);
  }

  /** Sends any event without an ack; a refusal then comes as a `refused` event (see nextRefusal). */
  emitRaw(event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args);
  }

  heartbeat(status: 'idle' | 'training' | 'paused', round?: number): void {
    this.socket.emit('heartbeat', round === undefined ? { status } : { status, round });
  }

  leave(): void {
    this.socket.emit('leave');
  }

  close(): void {
    this.socket.close();
  }
}
