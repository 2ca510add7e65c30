/** REST API for runs: create and control them (admin), read rounds, clients and metrics. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { protocolError, type ErrorCode } from '@fedtsa/protocol/errors';
import type { RunSummary } from '@fedtsa/protocol/dashboard';
import type { RunEngine } from '../runs/run-engine.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import { RunSettings } from '../runs/settings.ts';
import type { RunStore } from '../store/types.ts';

const RunParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const CreateRunBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  start: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
const Control = Type.Union([Type.Literal('start'), Type.Literal('pause'), Type.Literal('resume'), Type.Literal('stop')]);

export function refuse(reply: FastifyReply, status: number, code: ErrorCode, detail?: string) {
  return reply.code(status).send(protocolError(code, detail));
}

export function describeRun(engine: RunEngine, store: RunStore): RunSummary {
  const run = engine.record;
  return {
    id: run.id, name: run.name, state: run.state, joinToken: run.joinToken, settings: run.settings,
    completedRound: run.completedRound, currentRound: engine.currentRound, roundDeadline: engine.roundDeadline ?? null,
    createdAt: run.createdAt, clustering: engine.clusteringSnapshot ?? null,
    clients: store.listClients(run.id).map(({ secretHash: _secret, ...c }) => c),
  };
}

export function metricsCsv(store: RunStore, runId: string): string {
  const rows = ['round,cluster,width,members,updates,accuracy,loss,stage1_ms,stage2_ms,mean_accuracy'];
  for (const r of store.listRounds(runId)) {
    for (const c of r.clusters) {
      rows.push([r.round, c.clusterIndex, c.widthRatio, c.members, c.updates, c.accuracy.toFixed(5), c.loss.toFixed(5),
        r.stage1Ms.toFixed(1), r.stage2Ms.toFixed(1), r.meanAccuracy.toFixed(5)].join(','));
    }
  }
  return `${rows.join('\n')}\n`;
}

export function registerRunRoutes(app: FastifyInstance, registry: RunRegistry, store: RunStore): void {
  const engineOr404 = (id: string, reply: FastifyReply): RunEngine | undefined => {
    const engine = registry.get(id);
    if (!engine) void refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND', id);
    return engine;
  };

  app.get('/api/runs', async () => registry.list().map((e) => describeRun(e, store)));

  // The settings' JSON schema (types, bounds, defaults, descriptions): the dashboard builds its form from it.
  app.get('/api/settings-schema', async () => RunSettings);

  app.post('/api/runs', { schema: { body: CreateRunBody } }, async (req, reply) => {
    const body = req.body as { name?: string; settings?: Record<string, unknown>; start?: boolean };
    let engine: RunEngine;
    try {
      engine = registry.create(body.name ?? 'run', body.settings ?? {});
    } catch (err) {
      return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', (err as Error).message);
    }
    if (body.start) engine.start();
    return reply.code(201).send(describeRun(engine, store));
  });

  app.get('/api/runs/:id', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && describeRun(engine, store);
  });

  app.post('/api/runs/:id/:action', {
    schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }), action: Control }) },
  }, async (req, reply) => {
    const { id, action } = req.params as { id: string; action: 'start' | 'pause' | 'resume' | 'stop' };
    const engine = engineOr404(id, reply);
    if (!engine) return reply;
    try {
      if (action === 'start' || action === 'resume') engine.start();
      else if (action === 'pause') engine.pause();
      else engine.stop();
    } catch (err) {
      return refuse(reply, 409, 'FEDTSA_ERR_RUN_STATE', (err as Error).message);
    }
    return describeRun(engine, store);
  });

  app.get('/api/runs/:id/rounds', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && store.listRounds(engine.record.id);
  });

  app.get('/api/runs/:id/clients', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = engineOr404((req.params as { id: string }).id, reply);
    return engine && describeRun(engine, store).clients;
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
