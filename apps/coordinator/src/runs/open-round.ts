/**
 * A round while it is open: who was selected, the task each participant got (the cluster's
 * model encoded once), and the arrival check of every update (update-check.ts, with the core's
 * arrival screen) until each participant has had its turn or the deadline passes. The engine
 * (run-engine.ts) opens it, hands it updates and closes it; the round's close itself is the
 * core's (round/close.ts), in the aggregation worker.
 */
import { randomBytes } from 'node:crypto';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import type { ReceivedUpdate } from '@fedtsa/core/round/close';
import type { RoundMemory } from '@fedtsa/core/round/memory';
import type { ClientEvaluation } from '@fedtsa/core/round/score';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import { decodeWeights, encodeWeights, type EncodedWeights } from '@fedtsa/protocol/codec';
import type { RoundIncident } from '@fedtsa/protocol/dashboard';
import { protocolError, type Ack, type ProtocolError } from '@fedtsa/protocol/errors';
import type { TrainingTask } from '@fedtsa/protocol/events';
import type { UpdatePayload } from '@fedtsa/protocol/messages';
import type { RunSettings } from './settings.ts';
import { checkUpdate } from './update-check.ts';

/** Refusals that judge an update's content end the client's turn; malformed ones (a shape or cluster mix-up) may be corrected and resent. */
const SPENDING: ReadonlySet<string> = new Set(['FEDTSA_ERR_NON_FINITE', 'FEDTSA_ERR_NORM_TOO_LARGE', 'FEDTSA_ERR_BAD_CLAIM']);

export class OpenRound {
  readonly startedAt = Date.now();
  readonly deadline: number;
  /** Per cluster: the weights its participants receive (with a float16 downlink, the rounded ones: what distances are measured from). */
  readonly sent = new Map<number, Float32Array>();
  /** Per cluster: its model encoded once and shared by every participant's task (never mutated). */
  private readonly encoded = new Map<number, EncodedWeights>();
  private readonly widths = new Map<number, number>();
  /** clientId -> the nonce of its task this round; its update must name it. */
  private readonly taskIds = new Map<string, string>();
  /** Updates accepted on arrival, with their distances from the model sent. */
  readonly updates = new Map<string, ReceivedUpdate>();
  /** Updates acknowledged on arrival and dropped at the close by the screen of their cluster. */
  readonly dropped = new Map<string, ProtocolError>();
  /**
   * Clients whose update was refused on arrival for its content (SPENDING): their turn is over
   * (a second try would let an attacker probe the limits, and the round need not wait for them).
   */
  private readonly spent = new Set<string>();
  /** Participants that said they cannot take part (participation policy not met): the round does not wait for them. */
  readonly withdrawn = new Set<string>();
  /** Federated evaluation: each accepted client's score of the model it received, on its held-out data. */
  private readonly evaluations = new Map<string, ClientEvaluation>();
  /** What the safeguards did so far this round (refusals on arrival, drops at the close, ...). */
  readonly incidents: RoundIncident[] = [];
  closing = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly runId: string,
    readonly index: number,
    /** clientId -> cluster index it trains this round, in selection order. */
    readonly selected: ReadonlyMap<string, number>,
    models: readonly ClusterModel[],
    private readonly spec: ModelSpec,
    private readonly settings: RunSettings,
    onDeadline: () => void,
  ) {
    this.deadline = this.startedAt + settings.roundDeadlineMs;
    for (const m of models) {
      const encoded = encodeWeights(m.weights, modelManifest(spec, m.widthRatio), settings.downlinkDtype);
      this.encoded.set(m.clusterIndex, encoded);
      this.sent.set(m.clusterIndex, settings.downlinkDtype === 'float32' ? m.weights : decodeWeights(encoded));
      this.widths.set(m.clusterIndex, m.widthRatio);
    }
    this.timer = setTimeout(onDeadline, settings.roundDeadlineMs);
  }

  /** The task of a selected client (the same nonce every time it is asked again, after a reconnect). */
  taskFor(clientId: string): TrainingTask {
    const clusterIndex = this.selected.get(clientId);
    if (clusterIndex === undefined) throw new Error(`client ${clientId} is not selected in round ${this.index}`);
    let taskId = this.taskIds.get(clientId);
    if (!taskId) this.taskIds.set(clientId, (taskId = randomBytes(12).toString('base64url')));
    const s = this.settings;
    return {
      runId: this.runId, round: this.index, taskId, clusterIndex, widthRatio: this.widths.get(clusterIndex) as number, deadline: this.deadline,
      epochs: s.localEpochs, batchSize: s.batchSize, learningRate: s.learningRate, optimizer: s.optimizer,
      weights: this.encoded.get(clusterIndex) as EncodedWeights,
    };
  }

  /** A selected client that has not had its turn yet (a reconnect gets its task again). */
  awaits(clientId: string): boolean {
    return this.selected.has(clientId) && !this.updates.has(clientId) && !this.spent.has(clientId) && !this.withdrawn.has(clientId);
  }

  /** Every participant has had its turn (accepted, refused for its content, or withdrawn). */
  get complete(): boolean {
    return this.updates.size + this.spent.size + this.withdrawn.size === this.selected.size;
  }

  /**
   * A participant that has not had its turn says it cannot take part: its turn is over (an
   * incident says why). False when it was not awaited (not selected, or already returned).
   */
  withdraw(clientId: string, reasons: readonly string[]): boolean {
    if (this.closing || !this.awaits(clientId)) return false;
    this.withdrawn.add(clientId);
    const clusterIndex = this.selected.get(clientId) as number;
    this.incidents.push({ kind: 'participant-withdrew', clusterIndex, clientId, message: `cannot take part in round ${this.index}: ${reasons.join(', ')}` });
    return true;
  }

  /** The accepted updates in selection order (the order Stage 1 sums them in). */
  inSelectionOrder(): ReceivedUpdate[] {
    return [...this.selected.keys()].flatMap((id) => this.updates.get(id) ?? []);
  }

  /** The arrival check of one update; `maxSamples`: what the client holds. A refusal is also an incident. */
  receive(clientId: string, payload: UpdatePayload, memory: RoundMemory, maxSamples: number): Ack<{ accepted: true; round: number }> {
    if (this.closing || payload.round !== this.index) return { ok: false, error: protocolError('FEDTSA_ERR_STALE_ROUND', `round ${payload.round} is not open`) };
    const clusterIndex = this.selected.get(clientId);
    if (clusterIndex === undefined) return { ok: false, error: protocolError('FEDTSA_ERR_NOT_SELECTED') };
    if (this.updates.has(clientId)) return { ok: false, error: protocolError('FEDTSA_ERR_DUPLICATE_UPDATE') };
    if (this.withdrawn.has(clientId)) return { ok: false, error: protocolError('FEDTSA_ERR_WITHDRAWN', `round ${this.index}; the next round it takes part in brings a new task`) };
    if (this.spent.has(clientId)) return { ok: false, error: protocolError('FEDTSA_ERR_DUPLICATE_UPDATE', `its update for round ${this.index} was refused; the next round brings a new task`) };
    if (payload.taskId !== this.taskIds.get(clientId)) return { ok: false, error: protocolError('FEDTSA_ERR_TASK_MISMATCH', `round ${this.index}`) };
    const widthRatio = this.widths.get(clusterIndex) as number;
    const sameRound = [...this.updates.values()].filter((u) => u.clusterIndex === clusterIndex).map((u) => u.distance);
    const check = checkUpdate(payload, {
      runId: this.runId, round: this.index, clusterIndex, manifest: modelManifest(this.spec, widthRatio), sent: this.sent.get(clusterIndex) as Float32Array,
      reference: memory.reference(clusterIndex, sameRound), normMultiple: this.settings.normMultiple, maxSamples,
    });
    if (!check.ok) {
      if (SPENDING.has(check.error.code)) this.spent.add(clientId);
      this.incidents.push({ kind: 'update-refused', clusterIndex, clientId, code: check.error.code, message: check.error.message });
      return check;
    }
    this.updates.set(clientId, { clientId, clusterIndex, widthRatio, weights: check.weights, numSamples: payload.numSamples, distance: check.distance });
    if (payload.fallback) {
      this.incidents.push({
        kind: 'backend-fallback', clusterIndex, clientId,
        message: `trained on ${payload.backend ?? 'another backend'} after ${payload.fallback.from} failed: ${payload.fallback.reason}`,
      });
    }
    if (payload.evaluation && payload.evaluation.count <= maxSamples) this.evaluations.set(clientId, { clusterIndex, ...payload.evaluation });
    return { ok: true, value: { accepted: true, round: this.index } };
  }

  /** The client evaluations of the updates that stood (dropped ones do not count). */
  clientEvaluations(): ClientEvaluation[] {
    return [...this.evaluations].filter(([id]) => !this.dropped.has(id)).map(([, e]) => e);
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
