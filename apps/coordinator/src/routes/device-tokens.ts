/**
 * Admin REST for one-use device join tokens (see runs/device-tokens.ts):
 *   POST   /api/runs/:id/device-tokens          { count: 1..1000, label? } -> 201 the tokens, in clear, once
 *   GET    /api/runs/:id/device-tokens          every token: id, label, unused/used/revoked, which client used it
 *   DELETE /api/runs/:id/device-tokens/:token   revoke one, named by the token or by its listed id
 * The body is checked by its schema as sent (strict.ts: no coercion, unknown fields refused) and
 * refused in our words; an unknown or over-long run id is 404 like everywhere else (runs.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { describeDeviceToken, findDeviceToken, mintDeviceTokens } from '../runs/device-tokens.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import type { RunStore } from '../store/types.ts';
import { findEngineOr404 } from './runs.ts';
import { refuse } from './strict.ts';

const RunParams = Type.Object({ id: Type.String() });
// A token of any length that names nothing is a 404, and is not echoed.
const TokenParams = Type.Object({ id: Type.String(), token: Type.String() });
const CreateBody = Type.Object({
  count: Type.Integer({ minimum: 1, maximum: 1000 }),
  label: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

export function registerDeviceTokenRoutes(app: FastifyInstance, registry: RunRegistry, store: RunStore): void {
  app.post('/api/runs/:id/device-tokens', { schema: { params: RunParams, body: CreateBody } }, async (req, reply) => {
    const body = req.body as Static<typeof CreateBody>;
    const engine = findEngineOr404(registry, (req.params as { id: string }).id, reply);
    if (!engine) return reply;
    const { id, state } = engine.record;
    if (state === 'stopped' || state === 'completed') return refuse(reply, 409, 'FEDTSA_ERR_RUN_STATE', `the run is ${state}`);
    const tokens = mintDeviceTokens(store, id, body.count, body.label ?? '');
    return reply.code(201).send({ runId: id, joinMode: engine.record.settings.joinMode ?? 'shared', tokens });
  });

  app.get('/api/runs/:id/device-tokens', { schema: { params: RunParams } }, async (req, reply) => {
    const engine = findEngineOr404(registry, (req.params as { id: string }).id, reply);
    return engine && store.listDeviceTokens(engine.record.id).map(describeDeviceToken);
  });

  app.delete('/api/runs/:id/device-tokens/:token', { schema: { params: TokenParams } }, async (req, reply) => {
    const { id, token } = req.params as Static<typeof TokenParams>;
    const engine = findEngineOr404(registry, id, reply);
    if (!engine) return reply;
    const found = findDeviceToken(store, engine.record.id, token);
    if (!found) return refuse(reply, 404, 'FEDTSA_ERR_NOT_FOUND', 'the run has no such device token');
    store.revokeDeviceToken(engine.record.id, found.tokenHash, Date.now());
    return describeDeviceToken(store.getDeviceToken(engine.record.id, found.tokenHash) ?? found);
  });
}
