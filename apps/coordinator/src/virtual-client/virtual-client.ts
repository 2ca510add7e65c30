/**
 * A Node client that speaks the browser's protocol: joins with the run's token, reports a
 * configured capability, fetches its demo shard, trains each task with the browser's own
 * step (runClientStep in @fedtsa/protocol/client-step, with synchronous reads), uploads the
 * update and reconnects with its identity. `emulateSpeed` makes it take as long as a device
 * of its reported speed would.
 */
import { io, type Socket } from 'socket.io-client';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { taskImages, taskSpec, type TaskDefinition } from '@fedtsa/core/task';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { localHoldout, runClientStep } from '@fedtsa/protocol/client-step';
import type { WeightDtype } from '@fedtsa/protocol/codec';
import type { Ack, ErrorCode } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, type ClientToServerEvents, type DemoShard, type ServerToClientEvents, type TrainingTask, type Welcome } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION, type UpdatePayload } from '@fedtsa/protocol/messages';

export interface VirtualClientOptions {
  url: string;
  runId: string;
  joinToken: string;
  /** Reported training throughput of the width-1 model, samples/s. */
  samplesPerSec: number;
  /** Wait until a task has taken as long as the reported speed implies (default false). */
  emulateSpeed?: boolean;
  dtype?: WeightDtype;
  label?: string;
  /**
   * The client's own data, declared as ownDataSamples (as a browser with a local folder does);
   * without it the client trains on the demo shard it is dealt.
   */
  data?: LabelledImages;
  /** Hook to tamper with the trained weights before they are encoded and sent (fault drills and tests). */
  transformUpdate?: (weights: Float32Array, task: TrainingTask) => Float32Array;
  log?: (message: string) => void;
}

export interface VirtualClientEvents {
  /** Every update as it is sent (tests read what the client reported). */
  onSent?: (update: UpdatePayload) => void;
  onRoundAccepted?: (round: number) => void;
  onRefused?: (code: ErrorCode, message: string) => void;
}

export class VirtualClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  welcome: Welcome | undefined;
  private data: LabelledImages | undefined;
  private spec: ModelSpec | undefined;
  readonly acceptedRounds: number[] = [];
  readonly refusals: ErrorCode[] = [];
  private busy = Promise.resolve();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private training = false;

  constructor(private readonly options: VirtualClientOptions, private readonly events: VirtualClientEvents = {}) {
    this.data = options.data;
    const auth: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION, runId: options.runId, joinToken: options.joinToken };
    this.socket = io(`${options.url}${CLIENT_NAMESPACE}`, { auth, transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 1000 });
    this.socket.on('welcome', (w) => {
      this.welcome = w;
      this.spec = taskSpec(w.task);
      // Reconnects (network loss, coordinator restart) resume this identity.
      Object.assign(auth, { clientId: w.clientId, clientSecret: w.clientSecret });
      // A disconnect during the handshake rejects its acks; the next welcome joins again.
      this.join().catch((err: Error) => this.options.log?.(`join failed: ${err.message}`));
    });
    this.socket.on('task', (task) => { this.busy = this.busy.then(() => this.train(task)); });
    this.socket.on('refused', (e) => { this.refusals.push(e.code); this.events.onRefused?.(e.code, e.message); });
    // An update acknowledged on arrival can still be dropped when its round closes.
    this.socket.on('round-closed', (info) => {
      if (!info.refusal) return;
      this.refusals.push(info.refusal.code);
      this.events.onRefused?.(info.refusal.code, info.refusal.message);
    });
    this.socket.on('connect_error', (err) => this.options.log?.(`connect error: ${err.message}`));
    this.heartbeat = setInterval(() => {
      if (this.socket.connected) this.socket.emit('heartbeat', { status: this.training ? 'training' : 'idle' });
    }, 10_000);
  }

  private async join(): Promise<void> {
    if (!this.data && this.welcome?.demoShard) {
      const res = (await this.socket.timeout(30_000).emitWithAck('demo-shard', {})) as Ack<DemoShard>;
      if (!res.ok) throw new Error(`demo shard refused: ${res.error.code}`);
      this.data = shardToImages(res.value, this.welcome.task);
    }
    await this.socket.timeout(30_000).emitWithAck('capability', {
      samplesPerSec: this.options.samplesPerSec, backend: 'node', label: this.options.label, ownDataSamples: this.options.data?.count,
    });
  }

  private async train(task: TrainingTask): Promise<void> {
    if (!this.data || !this.spec) return;
    this.training = true;
    try {
      await this.trainAndUpload(task);
    } finally {
      this.training = false;
    }
  }

  private async trainAndUpload(task: TrainingTask): Promise<void> {
    if (!this.data || !this.spec) return;
    const started = Date.now();
    // Without a server test set the client scores the model it received on a held-out part of its data.
    const split = this.welcome?.serverEvaluates === false ? localHoldout(this.data) : undefined;
    const { update } = await runClientStep(task, split?.train ?? this.data, this.spec, {
      reads: 'sync', dtype: this.options.dtype ?? 'float32', transform: this.options.transformUpdate, evaluateOn: split?.holdout,
    });
    if (this.options.emulateSpeed) {
      const deviceMs = (1000 * this.data.count * task.epochs * task.widthRatio ** 2) / this.options.samplesPerSec;
      await new Promise((r) => setTimeout(r, Math.max(0, deviceMs - (Date.now() - started))));
    }
    this.events.onSent?.(update);
    const res = (await this.socket.timeout(60_000).emitWithAck('update', update)
      .catch((err: Error) => ({ ok: false as const, error: { code: 'TIMEOUT', message: err.message } }))) as Ack<{ accepted: true; round: number }>;
    if (res.ok) {
      this.acceptedRounds.push(res.value.round);
      this.events.onRoundAccepted?.(res.value.round);
    } else {
      this.refusals.push(res.error.code);
      this.events.onRefused?.(res.error.code, res.error.message);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.socket.disconnect();
  }
}

/** A demo shard's pixel bytes as the task's model inputs (core taskImages). */
export function shardToImages(shard: DemoShard, task: TaskDefinition): LabelledImages {
  const images = shard.images instanceof Uint8Array ? shard.images : new Uint8Array(shard.images);
  const labels = shard.labels instanceof Uint8Array ? shard.labels : new Uint8Array(shard.labels);
  return taskImages(task, images, labels, shard.count);
}
