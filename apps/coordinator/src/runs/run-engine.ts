/**
 * One run's federation: clients join and report; at a round boundary the core plans the
 * clusters (round/plan.ts) and picks the participants (round/participants.ts); an OpenRound
 * (open-round.ts) sends each its cluster's model and checks updates as they arrive until every
 * participant has had its turn or the deadline passed; then the core's close (round/close.ts:
 * screen, capped Stage 1, invariants, Stage 2) and the scores run in the aggregation worker,
 * and the round is saved before the next one starts. The engine owns the timers, the store,
 * the channels and the safeguards' memory between rounds (round/memory.ts).
 *
 * The engine talks to clients through ClientChannel only, never to socket.io, so the socket
 * layer (and later socket.io's Redis adapter) stays outside it.
 */
import type { ModelSpec } from '@fedtsa/core/architecture';
import { RoundMemory } from '@fedtsa/core/round/memory';
import { selectParticipants } from '@fedtsa/core/round/participants';
import { carryOverModels, membershipChanged, planClusters, snapshotClustering } from '@fedtsa/core/round/plan';
import { roundPolicyOf } from '@fedtsa/core/round/policy';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import { protocolError, type Ack } from '@fedtsa/protocol/errors';
import type { Assignment, RoundClosed, RunState, TrainingTask } from '@fedtsa/protocol/events';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import type { CapabilityReport, Participation, UpdatePayload } from '@fedtsa/protocol/messages';
import type { ClientRecord, ClusteringSnapshot, RunRecord, RunStore } from '../store/types.ts';
import type { ServerWork } from './server-work.ts';
import { buildRoundRecord } from './round-record.ts';
import { dropRefusals, outcomeIncidents } from './round-safeguards.ts';
import type { RunChangeSink } from './run-events.ts';
import { planOptionsOf } from './settings.ts';
import { OpenRound } from './open-round.ts';

const ROUTINE: ReadonlySet<string> = new Set(['weight-capped', 'participant-withdrew', 'backend-fallback', 'direction-check-skipped']);

export interface ClientChannel {
  assignment(a: Assignment): void;
  task(t: TrainingTask): void;
  roundClosed(info: RoundClosed): void;
  runState(s: { runId: string; state: RunState; round: number }): void;
}

export interface EngineEvents {
  /** Where the engine reports what the dashboard shows changing (clients, round, state): the coordinator's hub (run-events.ts). */
  changes: RunChangeSink;
  log(level: 'info' | 'warn' | 'error', message: string, extra?: Record<string, unknown>): void;
}

export class RunEngine {
  private readonly channels = new Map<string, ClientChannel>();
  private models: ClusterModel[] = [];
  private clustering: ClusteringSnapshot | undefined;
  private open: OpenRound | undefined;
  /** The safeguards' references carried from round to round (core round/memory.ts). */
  private memory = new RoundMemory();
  /** Per client: the samples it holds (its demo shard, or the own data it declared): the bound of its claims. */
  private readonly holdings = new Map<string, number>();
  private starting = false;
  /** Connected clients that reported they cannot take part now, with why: never selected, not counted to start a round. */
  private readonly unavailable = new Map<string, readonly string[]>();
  /** A clustered client reported a new speed (a re-measure, a backend fallback): the next round clusters again. */
  private speedsChanged = false;

  constructor(
    private run: RunRecord,
    private readonly store: RunStore,
    private readonly aggregator: ServerWork,
    private readonly spec: ModelSpec,
    private readonly initialWeights: Float32Array,
    private readonly events: EngineEvents,
  ) {
    // Resume from the last completed round: its models and clustering.
    const rounds = store.listRounds(run.id);
    const last = rounds[rounds.length - 1];
    if (run.completedRound > 0 && last) {
      this.models = store.loadModels(run.id, run.completedRound) ?? [];
      this.clustering = last.clustering;
      // The safeguards' references survive a restart, so the first round after it is checked too.
      this.memory = RoundMemory.fromRecords(rounds);
    }
  }

  get record(): RunRecord {
    return this.run;
  }

  get currentRound(): number {
    return this.open?.index ?? this.run.completedRound;
  }

  get roundDeadline(): number | undefined {
    return this.open?.deadline;
  }

  get clusteringSnapshot(): ClusteringSnapshot | undefined {
    return this.clustering;
  }

  clusterModels(): ClusterModel[] {
    return this.models;
  }

  /** The run's synthetic pool as the server makes it in the background (null without Stage 2). */
  get poolProgress(): PoolProgress | null {
    return this.aggregator.poolProgress(this.run.id);
  }

  /** The model spec of the run's task. */
  get modelSpec(): ModelSpec {
    return this.spec;
  }

  private setState(state: RunState): void {
    this.store.updateRun(this.run.id, { state });
    this.run = this.store.getRun(this.run.id) as RunRecord;
    for (const ch of this.channels.values()) ch.runState({ runId: this.run.id, state, round: this.currentRound });
    this.events.changes.emit({ runId: this.run.id, what: 'state' });
  }

  start(): void {
    if (this.run.state === 'completed' || this.run.state === 'stopped') throw new Error(`run ${this.run.id} is ${this.run.state}`);
    this.setState('running');
    this.maybeStartRound();
  }

  pause(): void {
    if (this.run.state !== 'running') throw new Error(`run ${this.run.id} is ${this.run.state}, not running`);
    this.setState('paused'); // the open round finishes; no new one starts
  }

  stop(): void {
    this.open?.cancel();
    this.open = undefined;
    this.setState('stopped');
  }

  connect(client: ClientRecord, channel: ClientChannel): void {
    this.channels.set(client.id, channel);
    this.store.upsertClient({ ...client, status: 'connected', lastSeen: Date.now() });
    channel.runState({ runId: this.run.id, state: this.run.state, round: this.currentRound });
    const cluster = this.clustering?.clusters.find((c) => c.memberIds.includes(client.id));
    if (cluster && client.samplesPerSec > 0) channel.assignment({ clusterIndex: cluster.index, widthRatio: cluster.widthRatio, clusters: this.clustering?.clusters.length ?? 0 });
    // A client that reconnects mid-round gets its task again.
    if (this.open?.awaits(client.id)) channel.task(this.open.taskFor(client.id));
    this.events.changes.emit({ runId: this.run.id, what: 'clients' });
    this.maybeStartRound();
  }

  disconnect(clientId: string, left = false): void {
    this.channels.delete(clientId);
    this.unavailable.delete(clientId); // a page reports its participation again after it reconnects
    const c = this.store.getClient(this.run.id, clientId);
    if (c) this.store.upsertClient({ ...c, status: left ? 'left' : 'disconnected', lastSeen: Date.now() });
    this.events.changes.emit({ runId: this.run.id, what: 'clients' });
  }

  heartbeat(clientId: string, status: ClientRecord['status']): void {
    const c = this.store.getClient(this.run.id, clientId);
    if (c) this.store.upsertClient({ ...c, status: this.unavailable.has(clientId) ? 'unavailable' : status, lastSeen: Date.now() });
  }

  /**
   * Whether the client can take part now (its participation policy). Unavailable: withdrawn from
   * the open round if it was awaited there (the round closes as soon as nobody else is awaited),
   * and not selected until it reports available again, which may start the next round.
   */
  participation(clientId: string, state: Participation): void {
    const c = this.store.getClient(this.run.id, clientId);
    if (!c) return;
    if (state.available) this.unavailable.delete(clientId);
    else this.unavailable.set(clientId, state.reasons);
    const status = state.available ? (c.status === 'unavailable' ? 'connected' : c.status) : 'unavailable';
    this.store.upsertClient({ ...c, status, lastSeen: Date.now() });
    this.events.changes.emit({ runId: this.run.id, what: 'clients' });
    const open = this.open;
    if (!state.available && open?.withdraw(clientId, state.reasons)) {
      this.events.log('info', `run ${this.run.id} round ${open.index}: client ${clientId} withdrew (${state.reasons.join(', ')})`);
      if (open.complete) queueMicrotask(() => void this.closeRound('complete'));
    }
    if (state.available) queueMicrotask(() => this.maybeStartRound());
  }

  /** `demoSamples`: the size of the demo shard the client was dealt, if any. */
  reportCapability(clientId: string, report: CapabilityReport, demoSamples?: number): Ack<Assignment | { waiting: true }> {
    const c = this.store.getClient(this.run.id, clientId);
    if (!c) return { ok: false, error: protocolError('FEDTSA_ERR_NOT_JOINED') };
    const max = this.run.settings.maxSamplesPerClient;
    if (report.ownDataSamples !== undefined && report.ownDataSamples > max) {
      return { ok: false, error: protocolError('FEDTSA_ERR_BAD_CLAIM', `ownDataSamples ${report.ownDataSamples} exceeds this run's maxSamplesPerClient ${max}`) };
    }
    this.holdings.set(clientId, report.ownDataSamples ?? demoSamples ?? max);
    if (c.clusterIndex !== null && c.samplesPerSec > 0 && c.samplesPerSec !== report.samplesPerSec) this.speedsChanged = true;
    this.store.upsertClient({ ...c, samplesPerSec: report.samplesPerSec, backend: report.backend, label: report.label ?? c.label, lastSeen: Date.now() });
    this.events.changes.emit({ runId: this.run.id, what: 'clients' });
    queueMicrotask(() => this.maybeStartRound());
    const cluster = this.clustering?.clusters.find((x) => x.memberIds.includes(clientId));
    return { ok: true, value: cluster ? { clusterIndex: cluster.index, widthRatio: cluster.widthRatio, clusters: this.clustering?.clusters.length ?? 0 } : { waiting: true } };
  }

  private readyClients(): ClientRecord[] {
    return this.store.listClients(this.run.id).filter((c) => this.channels.has(c.id) && c.samplesPerSec > 0);
  }

  /** Starts the next round when the run is running, no round is open and enough clients are ready. */
  maybeStartRound(): void {
    if (this.run.state !== 'running' || this.open || this.starting) return;
    if (this.run.completedRound >= this.run.settings.rounds) {
      this.setState('completed');
      return;
    }
    const ready = this.readyClients();
    // Unavailable clients stay in the clustering (their availability comes and goes) but do not count to start a round.
    if (ready.filter((c) => !this.unavailable.has(c.id)).length < this.run.settings.minClientsToStart) return;
    this.starting = true;
    try {
      this.startRound(ready);
    } finally {
      this.starting = false;
    }
  }

  private startRound(ready: ClientRecord[]): void {
    const s = this.run.settings;
    const index = this.run.completedRound + 1;
    if (this.speedsChanged || membershipChanged(this.clustering, ready.map((c) => c.id))) {
      this.speedsChanged = false;
      const profiles = ready.map((c) => ({ id: c.id, samplesPerSec: c.samplesPerSec, numSamples: s.expectedSamplesPerClient }));
      const next = snapshotClustering(planClusters(profiles, planOptionsOf(s, ready.length, this.clustering)));
      // With no models yet, every cluster starts from the run's initial weights at its width.
      this.models = carryOverModels(this.spec, this.initialWeights, this.models, next);
      // A cluster whose width changed moves by a different distance per round: its reference starts over.
      for (const c of next.clusters) {
        if (this.clustering?.clusters.find((x) => x.index === c.index)?.widthRatio !== c.widthRatio) this.memory.forget(c.index);
      }
      this.clustering = next;
      for (const c of ready) {
        const cluster = next.clusters.find((x) => x.memberIds.includes(c.id));
        if (!cluster) continue;
        this.store.upsertClient({ ...c, clusterIndex: cluster.index, widthRatio: cluster.widthRatio });
        this.channels.get(c.id)?.assignment({ clusterIndex: cluster.index, widthRatio: cluster.widthRatio, clusters: next.clusters.length });
      }
    }
    const clustering = this.clustering as ClusteringSnapshot;
    const selected = selectParticipants(clustering.clusters, {
      seed: s.seed, round: index, isOnline: (id) => this.channels.has(id) && !this.unavailable.has(id),
      count: (online) => (s.participantsPerCluster > 0 ? s.participantsPerCluster : online),
    });
    const open = (this.open = new OpenRound(this.run.id, index, selected, this.models, this.spec, s, () => void this.closeRound('deadline')));
    this.events.log('info', `run ${this.run.id} round ${index} started`, { participants: selected.size, clusters: clustering.clusters.length });
    for (const id of selected.keys()) this.channels.get(id)?.task(open.taskFor(id));
    this.events.changes.emit({ runId: this.run.id, what: 'round' });
  }

  submitUpdate(clientId: string, payload: UpdatePayload): Ack<{ accepted: true; round: number }> {
    const open = this.open;
    if (!open) return { ok: false, error: protocolError('FEDTSA_ERR_STALE_ROUND', `round ${payload.round} is not open`) };
    const before = open.incidents.length;
    const ack = open.receive(clientId, payload, this.memory, this.holdings.get(clientId) ?? this.run.settings.maxSamplesPerClient);
    // A refusal of what the update holds is an incident; a stale or duplicate one is only answered.
    if (!ack.ok && open.incidents.length > before) {
      this.events.log('warn', `run ${this.run.id} round ${open.index}: refused update from ${clientId} (cluster ${open.selected.get(clientId)}): ${ack.error.message}`, { code: ack.error.code });
    }
    if (ack.ok) this.events.changes.emit({ runId: this.run.id, what: 'clients' });
    // Closes the round once every participant has had its turn (accepted or refused).
    if (open.complete) queueMicrotask(() => void this.closeRound('complete'));
    return ack;
  }

  private async closeRound(reason: 'deadline' | 'complete'): Promise<void> {
    const open = this.open;
    if (!open || open.closing) return;
    open.closing = true;
    const clientsDoneAt = Date.now();
    open.cancel();
    const s = this.run.settings;
    // The core's close sums in the round's seeded selection order, not arrival order, so a round's result does not depend on network timing.
    const updates = open.inSelectionOrder();
    try {
      // Round 1 also scores the models it started from, so every curve has its round 0.
      const start = open.index === 1 ? await this.aggregator.evaluate(s.task, this.models, s.evalSamples) : undefined;
      if (this.open !== open) return; // stopped meanwhile
      const result = await this.aggregator.aggregate({
        runId: this.run.id, task: s.task, round: open.index, seed: s.seed, models: this.models, updates, sent: [...open.sent],
        history: [...this.memory.histories()], policy: roundPolicyOf(s), stage2: s.stage2, evalSamples: s.evalSamples,
        lastRound: open.index >= s.rounds,
      });
      if (this.open !== open) return; // stopped meanwhile
      for (const [id, error] of dropRefusals(result)) open.dropped.set(id, error);
      open.incidents.push(...outcomeIncidents(result, s.minConsensus));
      this.models = result.models;
      this.memory.remember(result);
      const record = buildRoundRecord({
        runId: this.run.id, round: open.index, startedAt: open.startedAt, clientsDoneAt, participants: open.selected.size,
        incidents: open.incidents, clustering: this.clustering as ClusteringSnapshot, result, start, memory: this.memory,
        clientEvaluations: open.clientEvaluations(),
      });
      this.store.completeRound(record, this.models.map((m) => ({ ...m })));
      // Arrival refusals were logged as they came; the rest are the close's decisions.
      for (const i of open.incidents) {
        // A capped weight is routine with uneven honest shards, a withdrawal or a fallback is the client's own report: info, not a warning.
        if (i.kind !== 'update-refused') this.events.log(ROUTINE.has(i.kind) ? 'info' : 'warn', `run ${this.run.id} round ${open.index}, cluster ${i.clusterIndex}${i.clientId ? `, client ${i.clientId}` : ''}: ${i.kind}: ${i.message}`, { ...i.numbers, ...(i.code ? { code: i.code } : {}) });
      }
      this.run = this.store.getRun(this.run.id) as RunRecord;
      this.open = undefined;
      this.events.log('info', `run ${this.run.id} round ${record.round} closed (${reason})`, {
        accepted: result.accepted.length, participants: open.selected.size, meanAccuracy: record.meanAccuracy,
      });
      for (const [id] of open.selected) {
        const refusal = open.dropped.get(id);
        this.channels.get(id)?.roundClosed({ runId: this.run.id, round: record.round, accepted: open.updates.has(id) && !refusal, ...(refusal ? { refusal } : {}) });
      }
      this.events.changes.emit({ runId: this.run.id, what: 'round' });
    } catch (err) {
      this.events.log('error', `run ${this.run.id} round ${open.index} failed to close: ${(err as Error).message}`);
      this.open = undefined; // the round is redone from the last completed one
    }
    this.maybeStartRound();
  }

  dispose(): void {
    this.open?.cancel();
    this.open = undefined;
  }
}
