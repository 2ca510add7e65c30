/**
 * GET /api/runs/:id/progress: what a participant's page shows about its run (the accuracy of
 * its cluster by round, how many devices take part), and GET /api/runs/:id/progress/model: its
 * own cluster's model as it stands, for "Try the model" and the download once the run is over.
 * Not admin routes: the caller proves it is a participant of this run with the identity the
 * socket gave it, as HTTP Basic `clientId:clientSecret`. The answers (protocol progress.ts) hold
 * counts, per-cluster figures and the caller's own cluster's model only: no other client's id,
 * address, speed or data.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MODEL_HEADERS, PROGRESS_ROUTE, YOUR_MODEL_ROUTE, type RoundProgress, type RunProgress } from '@fedtsa/protocol/progress';
import type { RunEngine } from '../runs/run-engine.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { safeEqual, sha256Hex } from '../secrets.ts';
import type { RoundRecord, RunStore } from '../store/types.ts';
import { findEngineOr404 } from './runs.ts';
import { refuse } from './strict.ts';

const Params = Type.Object({ id: Type.String() });

/** `Authorization: Basic base64(clientId:clientSecret)` as its two parts, or undefined when it is not that. */
export function parseParticipantAuth(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const text = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  return { clientId: text.slice(0, colon), clientSecret: text.slice(colon + 1) };
}

/** The cluster whose members include `clientId` in a clustering, or null. */
const clusterOf = (clusters: readonly { index: number; memberIds: readonly string[] }[] | undefined, clientId: string): number | null =>
  clusters?.find((c) => c.memberIds.includes(clientId))?.index ?? null;

function roundProgress(r: RoundRecord, clientId: string): RoundProgress {
  const start = r.clusters.filter((c) => c.startAccuracy !== undefined).map((c) => ({ clusterIndex: c.clusterIndex, accuracy: c.startAccuracy as number }));
  return {
    round: r.round, participants: r.participants, yourCluster: clusterOf(r.clustering?.clusters, clientId),
    ...(start.length > 0 ? { startAccuracy: start } : {}),
    clusters: r.clusters.map((c) => ({
      clusterIndex: c.clusterIndex, widthRatio: c.widthRatio, members: c.members, updates: c.updates, accuracy: c.accuracy, evaluatedBy: c.evaluatedBy ?? 'server',
    })),
  };
}

/** The run as `clientId` may see it. */
export function describeProgress(engine: RunEngine, store: RunStore, clientId: string, now = Date.now()): RunProgress {
  const run = engine.record;
  return {
    runId: run.id, state: run.state, rounds: run.settings.rounds, completedRound: run.completedRound,
    devices: { live: store.listLiveClients(run.id, now).length, joined: store.listClients(run.id).length },
    yourCluster: clusterOf(engine.clusteringSnapshot?.clusters, clientId),
    history: store.listRounds(run.id).map((r) => roundProgress(r, clientId)),
  };
}

export function registerProgressRoute(app: FastifyInstance, registry: RunRegistry, store: RunStore): void {
  /** The run and the calling participant, or undefined after sending 404 (no run) or 401 (not a participant of it). */
  const participantOr401 = (req: FastifyRequest, reply: FastifyReply): { engine: RunEngine; clientId: string } | undefined => {
    const { id } = req.params as { id: string };
    const engine = findEngineOr404(registry, id, reply);
    if (!engine) return undefined;
    const auth = parseParticipantAuth(req.headers.authorization);
    const known = auth && store.getClient(engine.record.id, auth.clientId);
    if (!auth || !known || !safeEqual(sha256Hex(auth.clientSecret), known.secretHash)) {
      return void refuse(reply, 401, 'FEDTSA_ERR_BAD_TOKEN', 'send Authorization: Basic base64(clientId:clientSecret) of a participant of this run');
    }
    return { engine, clientId: auth.clientId };
  };

  app.get(PROGRESS_ROUTE, { schema: { params: Params } }, async (req, reply) => {
    const caller = participantOr401(req, reply);
    return caller ? describeProgress(caller.engine, store, caller.clientId) : reply;
  });

  app.get(YOUR_MODEL_ROUTE, { schema: { params: Params } }, async (req, reply) => {
    const caller = participantOr401(req, reply);
    if (!caller) return reply;
    const model = caller.engine.clusterModels().find((m) => m.memberIds.includes(caller.clientId));
    if (!model) return refuse(reply, 404, 'FEDTSA_ERR_NOT_FOUND', 'this device is in no cluster with a model yet');
    const w = model.weights;
    return reply.type('application/octet-stream')
      .header(MODEL_HEADERS.clusterIndex, String(model.clusterIndex))
      .header(MODEL_HEADERS.widthRatio, String(model.widthRatio))
      .header(MODEL_HEADERS.trainedThrough, String(caller.engine.record.completedRound))
      .send(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  });
}
