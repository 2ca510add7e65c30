/** REST API for runs: create and control them (admin), read rounds, clients and metrics. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseClientsQuery } from '../runs/live-clients.ts';
import type { RunEngine } from '../runs/run-engine.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { describeRun, listRunClients } from '../runs/run-view.ts';
import { RunSettings } from '../runs/settings-schema.ts';
import type { RunStore } from '../store/types.ts';
import { FieldError } from '../field-errors.ts';
import { isEmptyBody, refuse } from './strict.ts';

export { refuse };

/**
 * Run ids are short (`run-` and a few random characters). A longer id names no run: 404
 * FEDTSA_ERR_RUN_NOT_FOUND like any unknown id (not 400: the request is well-formed, the run
 * does not exist), without echoing it. Past 100 characters (Fastify's maxParamLength) no API
 * route matches: 414 FEDTSA_ERR_TOO_LARGE (strict.ts), or for a GET, when the built pages are
 * served, their wildcard route's 404 FEDTSA_ERR_NOT_FOUND.
 */
const RUN_ID_MAX_LENGTH = 64;
const RunParams = Type.Object({ id: Type.String() });
const CreateRunBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  start: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
const Control = Type.Union([Type.Literal('start'), Type.Literal('pause'), Type.Literal('resume'), Type.Literal('stop')]);
type ControlAction = 'start' | 'pause' | 'resume' | 'stop';

/** Why the engine would refuse `action` in `state` (its start and pause throw on these), or undefined. */
function controlBlocked(action: ControlAction, state: string): string | undefined {
  if (action === 'pause' && state !== 'running') return `cannot pause a run that is ${state}`;
  if ((action === 'start' || action === 'resume') && (state === 'completed' || state === 'stopped')) return `cannot ${action} a run that is ${state}`;
  return undefined;
}

export function metricsCsv(store: RunStore, runId: string): string {
  // evaluated_by: 'server' (its test set, the round's final model) or 'clients' (federated: the model they received, on their held-out data).
  const rows = ['round,cluster,width,members,updates,accuracy,loss,stage1_ms,stage2_ms,mean_accuracy,evaluated_by,evaluated_images'];
  for (const r of store.listRounds(runId)) {
    for (const c of r.clusters) {
      rows.push([r.round, c.clusterIndex, c.widthRatio, c.members, c.updates, c.accuracy.toFixed(5), c.loss.toFixed(5),
        r.stage1Ms.toFixed(1), r.stage2Ms.toFixed(1), r.meanAccuracy.toFixed(5), c.evaluatedBy ?? 'server', c.evaluatedImages ?? ''].join(','));
    }
  }
  return `${rows.join('\n')}\n`;
}

/** The run's engine, or undefined after sending 404 FEDTSA_ERR_RUN_NOT_FOUND. */
export function findEngineOr404(registry: RunRegistry, id: string, reply: FastifyReply): RunEngine | undefined {
  const plausible = id.length <= RUN_ID_MAX_LENGTH;
  const engine = plausible ? registry.get(id) : undefined;
  if (!engine) void refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND', plausible ? id : undefined);
  return engine;
}

export function registerRunRoutes(app: FastifyInstance, registry: RunRegistry, store: RunStore): void {
  const engineOr404 = (id: string, reply: FastifyReply) => findEngineOr404(registry, id, reply);

  app.get('/api/runs', async () => registry.list().map((e) => describeRun(e, store)));

  // The settings' JSON schema (types, bounds, defaults, descriptions): the dashboard builds its form from it.
  app.get('/api/settings-schema', async () => RunSettings);

  app.post('/api/runs', { schema: { body: CreateRunBody } }, async (req, reply) => {
    const body = req.body as { name?: string; settings?: Record<string, unknown>; start?: boolean };
    let engine: RunEngine;
    try {
      engine = registry.create(body.name ?? 'run', body.settings ?? {});
    } catch (err) {
      // Only the settings' own refusal is the client's fault; anything else is ours (500, logged).
      if (err instanceof FieldError) return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', `body.${err.message}`);
      throw err;
    }
    if (body.start) engine.start();
    return reply.code(201).send(describeRun(engine, store));
  });

  app.get('/api/runs/:id', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && describeRun(engine, store);
  });

  app.post('/api/runs/:id/:action', {
    schema: { params: Type.Object({ id: Type.String(), action: Control }) },
  }, async (req, reply) => {
    const { id, action } = req.params as { id: string; action: ControlAction };
    // A control takes no body (the dashboard sends none); one with content is refused, not ignored.
    if (!isEmptyBody(req.body)) return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', `body: ${action} takes no body`);
    const engine = engineOr404(id, reply);
    if (!engine) return reply;
    const blocked = controlBlocked(action, engine.record.state);
    if (blocked) return refuse(reply, 409, 'FEDTSA_ERR_RUN_STATE', blocked);
    if (action === 'start' || action === 'resume') engine.start();
    else if (action === 'pause') engine.pause();
    else engine.stop();
    return describeRun(engine, store);
  });

  app.get('/api/runs/:id/rounds', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && store.listRounds(engine.record.id);
  });

  // The live clients; `?all=true`: every client the run has seen.
  app.get('/api/runs/:id/clients', { schema: { params: RunParams } }, async (req, reply) => {
    const query = parseClientsQuery(req.query);
    if (!query.ok) return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', query.message);
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && listRunClients(store, engine.record.id, query.all);
  });

  app.get('/api/runs/:id/metrics', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    if (!engine) return reply;
    return store.listRounds(engine.record.id).map((r) => ({
      round: r.round, meanAccuracy: r.meanAccuracy, stage1Ms: r.stage1Ms, stage2Ms: r.stage2Ms, stage2Stats: r.stage2Stats,
      updatesAccepted: r.updatesAccepted, updatesRefused: r.updatesRefused, clusters: r.clusters,
    }));
  });

  app.get('/api/runs/:id/metrics.csv', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    if (!engine) return reply;
    return reply.type('text/csv').header('content-disposition', `attachment; filename="${engine.record.id}-metrics.csv"`).send(metricsCsv(store, engine.record.id));
  });
}
