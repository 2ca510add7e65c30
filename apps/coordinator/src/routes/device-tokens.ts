/**
 * Admin REST for one-use device join tokens (see runs/device-tokens.ts):
 *   POST   /api/runs/:id/device-tokens          { count: 1..1000, label? } -> 201 the tokens, in clear, once
 *   GET    /api/runs/:id/device-tokens          every token: id, label, unused/used/revoked, which client used it
 *   DELETE /api/runs/:id/device-tokens/:token   revoke one, named by the token or by its listed id
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import { describeDeviceToken, findDeviceToken, mintDeviceTokens } from '../runs/device-tokens.ts';
import type { RunRegistry } from '../runs/run-registry.ts';
import type { RunStore } from '../store/types.ts';
import { refuse } from './runs.ts';

// An id or token of any length that names nothing is a 404 (like an unknown run elsewhere), and is not echoed.
const RunParams = Type.Object({ id: Type.String() });
const TokenParams = Type.Object({ id: Type.String(), token: Type.String() });
const CreateBody = Type.Object({
  count: Type.Integer({ minimum: 1, maximum: 1000 }),
  label: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
// Checked in the handler, not by Fastify's schema, which would coerce "5" to 5 and drop unknown keys.
const CreateBodyCheck = TypeCompiler.Compile(CreateBody);

export function registerDeviceTokenRoutes(app: FastifyInstance, registry: RunRegistry, store: RunStore): void {
  app.post('/api/runs/:id/device-tokens', { schema: { params: RunParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const body: unknown = req.body;
    if (!CreateBodyCheck.Check(body)) {
      const first = CreateBodyCheck.Errors(body).First();
      return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', `body${first?.path ?? ''}: ${first?.message ?? 'expected { count, label? }'}`);
    }
    const engine = registry.get(id);
    if (!engine) return refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND');
    const { state } = engine.record;
    if (state === 'stopped' || state === 'completed') return refuse(reply, 409, 'FEDTSA_ERR_RUN_STATE', `the run is ${state}`);
    const tokens = mintDeviceTokens(store, id, body.count, body.label ?? '');
    return reply.code(201).send({ runId: id, joinMode: engine.record.settings.joinMode ?? 'shared', tokens });
  });

  app.get('/api/runs/:id/device-tokens', { schema: { params: RunParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!registry.get(id)) return refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND');
    return store.listDeviceTokens(id).map(describeDeviceToken);
  });

  app.delete('/api/runs/:id/device-tokens/:token', { schema: { params: TokenParams } }, async (req, reply) => {
    const { id, token } = req.params as { id: string; token: string };
    if (!registry.get(id)) return refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND');
    const found = findDeviceToken(store, id, token);
    if (!found) return refuse(reply, 404, 'FEDTSA_ERR_NOT_FOUND', 'the run has no such device token');
    store.revokeDeviceToken(id, found.tokenHash, Date.now());
    return describeDeviceToken(store.getDeviceToken(id, found.tokenHash) ?? found);
  });
}
