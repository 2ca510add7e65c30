/**
 * A simulated wall clock, so strategies compare on a time axis as well as on rounds (issue 18).
 * The simulator trains virtual clients on worker threads, whose speed says nothing about the
 * devices; this clock charges each client what its device would take instead:
 *
 *   client time = samples x epochs x width^2 / throughput          (core width-policy.ts's cost model)
 *               + weights x bytesPerWeight / bandwidth, down and up (per device tier)
 *
 * and closes the round as the coordinator does (apps/coordinator/src/runs/open-round.ts): when
 * every participant has returned, or at the deadline, whichever comes first; an update that
 * would arrive after the deadline is dropped. The server's own time (Stage 1, the server step)
 * follows the close. Every strategy gets the same deadline.
 */
import { estimateTrainingSec } from '@fedtsa/core/width-policy';

/**
 * Bytes/s per tier, both directions, when --bandwidth does not say: phones ~8 Mbit/s (a mobile
 * link), laptops and desktops ~80 Mbit/s (home broadband over Wi-Fi). Rough, round figures; the
 * point is the order of magnitude between tiers, not a measurement.
 */
export const DEFAULT_BANDWIDTH_BYTES_PER_SEC: Readonly<Record<string, number>> = { phone: 1e6, laptop: 1e7, desktop: 1e7 };

/** The coordinator's default round deadline (runs/settings-schema.ts roundDeadlineMs 60,000). */
export const DEFAULT_ROUND_DEADLINE_SEC = 60;

/** float32 on the wire (the coordinator's default downlinkDtype; float16 would be 2). */
export const DEFAULT_BYTES_PER_WEIGHT = 4;

export interface WallClockOptions {
  /** Bytes/s per tier name, both directions. */
  bandwidthBytesPerSec: Readonly<Record<string, number>>;
  roundDeadlineSec: number;
  bytesPerWeight: number;
}

export const DEFAULT_WALL_CLOCK: WallClockOptions = {
  bandwidthBytesPerSec: DEFAULT_BANDWIDTH_BYTES_PER_SEC, roundDeadlineSec: DEFAULT_ROUND_DEADLINE_SEC, bytesPerWeight: DEFAULT_BYTES_PER_WEIGHT,
};

/** One participant's round as the clock sees it. */
export interface ClientWork {
  clientId: string;
  tier: string;
  /** Width-1 training throughput of its device, samples/s. */
  samplesPerSec: number;
  numSamples: number;
  epochs: number;
  /** Width of the model it trains this round. */
  widthRatio: number;
  /** Weights received and sent (the task's model; the update has the same size). */
  weightsDown: number;
  weightsUp: number;
}

export interface ClientTime {
  clientId: string;
  trainSec: number;
  downSec: number;
  upSec: number;
  /** When its update arrives, from the round's start. */
  totalSec: number;
  late: boolean;
}

/** Server work of the round, in seconds. */
export interface ServerTime {
  stage1Sec: number;
  /** The server step that runs after Stage 1 (FedTSA's Stage 2); 0 for strategies without one. */
  serverStepSec: number;
  /**
   * Server work running alongside the clients' training (overlap: the previous round's deferred
   * Stage 2): the close waits for it when it takes longer than the clients.
   */
  overlappedSec?: number;
}

export interface RoundClock {
  clients: ClientTime[];
  /** When the round closed: the last arrival, or the deadline if anyone was late (or the overlapped server work, if later). */
  closeSec: number;
  /** closeSec plus Stage 1 and the server step. */
  roundSec: number;
  lateIds: string[];
}

function checkOptions(options: WallClockOptions): void {
  if (!(options.roundDeadlineSec > 0)) throw new Error(`simulateRoundClock: roundDeadlineSec must be positive, got ${options.roundDeadlineSec}`);
  if (!(options.bytesPerWeight > 0)) throw new Error(`simulateRoundClock: bytesPerWeight must be positive, got ${options.bytesPerWeight}`);
}

/** A client's time at its device's throughput and its tier's bandwidth; `late` left to the round. */
export function clientTime(work: ClientWork, options: WallClockOptions): Omit<ClientTime, 'late'> {
  const bandwidth = options.bandwidthBytesPerSec[work.tier];
  if (bandwidth === undefined || !(bandwidth > 0)) throw new Error(`clientTime: no positive bandwidth for tier '${work.tier}' (client ${work.clientId})`);
  if (!(work.samplesPerSec > 0)) throw new Error(`clientTime: client ${work.clientId} has samplesPerSec ${work.samplesPerSec}`);
  const trainSec = estimateTrainingSec(work.numSamples * work.epochs, work.widthRatio, work.samplesPerSec);
  const downSec = (work.weightsDown * options.bytesPerWeight) / bandwidth;
  const upSec = (work.weightsUp * options.bytesPerWeight) / bandwidth;
  return { clientId: work.clientId, trainSec, downSec, upSec, totalSec: downSec + trainSec + upSec };
}

/** The clients' part of a round: who makes the deadline and when the round closes (before the server's work). */
export function clientPhase(participants: readonly ClientWork[], options: WallClockOptions, overlappedSec = 0): Omit<RoundClock, 'roundSec'> {
  checkOptions(options);
  const clients = participants.map((w) => {
    const t = clientTime(w, options);
    return { ...t, late: t.totalSec > options.roundDeadlineSec };
  });
  const lateIds = clients.filter((c) => c.late).map((c) => c.clientId);
  const lastArrival = Math.max(0, ...clients.filter((c) => !c.late).map((c) => c.totalSec));
  const clientsDone = lateIds.length > 0 ? options.roundDeadlineSec : lastArrival;
  return { clients, closeSec: Math.max(clientsDone, overlappedSec), lateIds };
}

/** The round's length: its close plus Stage 1 and the server step. */
export function roundSecOf(phase: Pick<RoundClock, 'closeSec'>, server: Omit<ServerTime, 'overlappedSec'>): number {
  return phase.closeSec + server.stage1Sec + server.serverStepSec;
}

/** One round on the simulated clock: who made the deadline, when the round closed, how long it took. */
export function simulateRoundClock(participants: readonly ClientWork[], server: ServerTime, options: WallClockOptions): RoundClock {
  const phase = clientPhase(participants, options, server.overlappedSec);
  return { ...phase, roundSec: roundSecOf(phase, server) };
}

/** Parses --bandwidth "phone=1e6,laptop=1e7" over the defaults (bytes/s). */
export function parseBandwidth(text: string, defaults: Readonly<Record<string, number>> = DEFAULT_BANDWIDTH_BYTES_PER_SEC): Record<string, number> {
  const out: Record<string, number> = { ...defaults };
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [tier, value, ...rest] = part.split('=');
    const bytesPerSec = Number(value);
    if (!tier || value === undefined || rest.length > 0 || !(Number.isFinite(bytesPerSec) && bytesPerSec > 0)) {
      throw new Error(`--bandwidth: expected TIER=BYTES_PER_SEC[,...] with a positive number, got '${part}'`);
    }
    out[tier] = bytesPerSec;
  }
  return out;
}
