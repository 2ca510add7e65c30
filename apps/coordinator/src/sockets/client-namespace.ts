/**
 * The training clients' namespace. The handshake carries the protocol version, the run and
 * its join token (and, to resume, the client's id and secret); every event payload passes
 * its guard before anything reads it, and every refusal carries a code.
 */
import type { Namespace, Socket } from 'socket.io';
import { protocolError, type Ack, type ErrorCode } from '@fedtsa/protocol/errors';
import {
  type ClientSocketData, type ClientToServerEvents, type InterServerEvents, type ServerToClientEvents,
} from '@fedtsa/protocol/events';
import {
  CapabilityReport, Heartbeat, isCapabilityReport, isClientAuth, isHeartbeat, isParticipation, isUpdatePayload, Participation, PROTOCOL_VERSION,
} from '@fedtsa/protocol/messages';
import { handshakeAddress } from '../client-address.ts';
import { firstFieldError } from '../field-errors.ts';
import { checkJoinToken } from '../runs/device-tokens.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { randomToken } from '../runs/run-registry.ts';
import type { RunStore } from '../store/types.ts';
import { safeEqual, sha256Hex } from '../secrets.ts';
import { IdentityLimiter } from './identity-limit.ts';
import { RateLimiter } from './rate-limiter.ts';

export type ClientNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, ClientSocketData>;
type ClientSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, ClientSocketData>;


class Refusal extends Error {
  constructor(readonly code: ErrorCode, readonly detail?: string) {
    super(protocolError(code, detail).message);
  }
}

/** Replies through the ack if the client gave one; refuses with a code otherwise. */
function answer<T>(socket: ClientSocket, ack: unknown, result: Ack<T>): void {
  if (typeof ack === 'function') (ack as (r: Ack<T>) => void)(result);
  else if (!result.ok) socket.emit('refused', result.error);
}

/**
 * Where a handshake came from: the address app.ts's engine middleware noted with the trusted
 * proxies applied (client-address.ts), the same one Fastify's request.ip gives; the socket's
 * peer where no middleware ran.
 */
function clientAddress(socket: ClientSocket): string {
  return handshakeAddress(socket.request) ?? socket.handshake.address;
}

/** A demo shard is megabytes for a 30-byte request: one per identity and round (before round 1 counts as a round). */
function shardRefusal(round: number): string {
  return `one demo shard per client and round: this client had one ${round === 0 ? 'before round 1' : `in round ${round}`}; it may ask again once round ${round + 1} starts`;
}

export function attachClientNamespace(
  ns: ClientNamespace, registry: RunRegistry, store: RunStore, limits: { eventsPerSecond: number; identitiesPerMinute: number },
): void {
  const identities = new IdentityLimiter(limits.identitiesPerMinute);
  /** `runId/clientId` -> the round in which it was last served a demo shard. */
  const shardServedInRound = new Map<string, number>();
  ns.use((socket, next) => {
    const auth: unknown = socket.handshake.auth;
    const fail = (code: ErrorCode, detail?: string) => {
      const err = new Error(protocolError(code, detail).message) as Error & { data: { code: ErrorCode } };
      err.data = { code };
      next(err);
    };
    if (!isClientAuth(auth)) return fail('FEDTSA_ERR_INVALID_PAYLOAD', 'handshake auth');
    if (auth.protocolVersion !== PROTOCOL_VERSION) return fail('FEDTSA_ERR_PROTOCOL_VERSION', `server speaks ${PROTOCOL_VERSION}, client ${auth.protocolVersion}`);
    const engine = registry.get(auth.runId);
    if (!engine) return fail('FEDTSA_ERR_RUN_NOT_FOUND');
    const token = checkJoinToken(engine.record, store, auth.joinToken, auth.clientId);
    if (!token.ok) return fail('FEDTSA_ERR_BAD_TOKEN', token.detail);
    if (engine.record.state === 'stopped' || engine.record.state === 'completed') return fail('FEDTSA_ERR_RUN_STATE', engine.record.state);
    if (auth.clientId !== undefined) {
      const known = store.getClient(auth.runId, auth.clientId);
      if (!known || !auth.clientSecret || !safeEqual(sha256Hex(auth.clientSecret), known.secretHash)) return fail('FEDTSA_ERR_BAD_TOKEN', 'unknown client id or secret');
      socket.data = { runId: auth.runId, clientId: auth.clientId };
      return next();
    }
    // A new identity: counted per address, and a device token is used up by it.
    const address = clientAddress(socket);
    if (!identities.take(address)) {
      return fail('FEDTSA_ERR_IDENTITY_LIMIT', `${limits.identitiesPerMinute} a minute per address; retry in ${Math.ceil(identities.retryAfterMs(address) / 1000)} s`);
    }
    const clientId = `c-${randomToken(6)}`;
    if (token.claim !== undefined && !store.claimDeviceToken(auth.runId, token.claim, clientId, Date.now())) return fail('FEDTSA_ERR_BAD_TOKEN', 'this device token was used already');
    socket.data = { runId: auth.runId, clientId };
    next();
  });

  ns.on('connection', (socket: ClientSocket) => {
    // The handshake middleware checked the identity (or made a new one) and left it in socket.data.
    const { runId, clientId } = socket.data;
    const auth = socket.handshake.auth as { clientId?: string; clientSecret?: string };
    const engine = registry.get(runId);
    if (!engine) return void socket.disconnect(true);
    const resumed = auth.clientId !== undefined;
    // The run's task: its shape and classes for the client, its demo shards, and who evaluates.
    const task = registry.tasks.require(engine.record.settings.task);
    const demo = registry.tasks.demoFor(task.task.name);
    const secret = resumed ? (auth.clientSecret as string) : randomToken(24);
    const existing = store.getClient(runId, clientId);
    const now = Date.now();
    const freeShard = () => demo?.freeShard(new Set(store.listClients(runId).map((c) => c.demoShard).filter((s) => s !== null))) ?? null;
    const demoShard = existing ? existing.demoShard : freeShard();
    const record = existing ?? {
      runId, id: clientId, secretHash: sha256Hex(secret), samplesPerSec: 0, backend: 'unknown', label: '',
      clusterIndex: null, widthRatio: null, demoShard, status: 'connected' as const, lastSeen: now, joinedAt: now,
    };
    // Another socket of the same identity (a reload): the newer one wins.
    for (const other of ns.sockets.values()) if (other.id !== socket.id && other.data.clientId === clientId) other.disconnect(true);
    socket.emit('welcome', {
      clientId, clientSecret: secret, runId, resumed, task: task.task, serverEvaluates: task.test !== undefined,
      demoShard: demoShard !== null && demo ? { samples: demo.shardSize(demoShard) } : undefined,
      participation: { requireCharging: engine.record.settings.requireCharging === true, requireVisible: engine.record.settings.requireVisible === true },
    });
    engine.connect(record, {
      assignment: (a) => socket.emit('assignment', a),
      task: (t) => socket.emit('task', t),
      roundClosed: (info) => socket.emit('round-closed', info),
      runState: (s) => socket.emit('run-state', s),
    });

    const limiter = new RateLimiter(limits.eventsPerSecond, limits.eventsPerSecond * 2);
    // Every handler sees (payload, ack): the ack is the last argument when it is a function,
    // whatever else the client sent, so a reply never goes to a payload slot and is lost.
    const guarded = (handler: (payload: unknown, ack: unknown) => void) => (...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? last : undefined;
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      if (!limiter.take()) return answer(socket, ack, { ok: false, error: protocolError('FEDTSA_ERR_RATE_LIMITED') });
      try {
        handler(payload, ack);
      } catch (err) {
        // A refusal's detail gets the code's prefix once; an internal failure's text stays on the server (no logger here).
        const error = err instanceof Refusal ? protocolError(err.code, err.detail) : protocolError('FEDTSA_ERR_INTERNAL');
        answer(socket, ack, { ok: false, error });
      }
    };

    socket.on('capability', guarded((report: unknown, ack: unknown) => {
      if (!isCapabilityReport(report)) throw new Refusal('FEDTSA_ERR_INVALID_PAYLOAD', firstFieldError(CapabilityReport, report, 'capability')?.message);
      answer(socket, ack, engine.reportCapability(clientId, report, demoShard !== null && demo ? demo.shardSize(demoShard) : undefined));
    }));
    socket.on('demo-shard', guarded((_req: unknown, ack: unknown) => {
      const shard = demoShard !== null && demo ? demo.shard(demoShard) : undefined;
      if (!shard) throw new Refusal('FEDTSA_ERR_RUN_STATE', 'this run serves no demo data to this client');
      const round = engine.currentRound;
      const key = `${runId}/${clientId}`;
      if (shardServedInRound.get(key) === round) return answer(socket, ack, { ok: false, error: protocolError('FEDTSA_ERR_RATE_LIMITED', shardRefusal(round)) });
      shardServedInRound.set(key, round);
      answer(socket, ack, { ok: true, value: shard });
    }));
    socket.on('update', guarded((payload: unknown, ack: unknown) => {
      if (!isUpdatePayload(payload)) throw new Refusal('FEDTSA_ERR_INVALID_PAYLOAD', 'update');
      answer(socket, ack, engine.submitUpdate(clientId, payload));
    }));
    socket.on('heartbeat', guarded((beat: unknown) => {
      if (!isHeartbeat(beat)) throw new Refusal('FEDTSA_ERR_INVALID_PAYLOAD', firstFieldError(Heartbeat, beat, 'heartbeat')?.message);
      engine.heartbeat(clientId, beat.status === 'training' ? 'training' : 'connected');
    }));
    socket.on('participation', guarded((state: unknown) => {
      if (!isParticipation(state)) throw new Refusal('FEDTSA_ERR_INVALID_PAYLOAD', firstFieldError(Participation, state, 'participation')?.message);
      engine.participation(clientId, state);
    }));
    let left = false;
    socket.on('leave', guarded(() => {
      left = true;
      engine.disconnect(clientId, true);
      socket.disconnect(true);
    }));
    socket.on('disconnect', () => {
      // Only the identity's current socket marks it gone (a reload's old socket does not), and a client that left stays 'left'.
      const current = [...ns.sockets.values()].some((s) => s.id !== socket.id && s.data.clientId === clientId);
      if (!current && !left) engine.disconnect(clientId);
    });
  });
}
