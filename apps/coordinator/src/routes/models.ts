/**
 * Each cluster's current model in the tfjs format: model.json (layers topology plus a
 * weights manifest) and weights.bin, loadable with tf.loadLayersModel.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { buildModel } from '@fedtsa/core/model';
import type { RunRegistry } from '../runs/run-registry.ts';
import { findEngineOr404 } from './runs.ts';
import { parseIndex, refuse } from './strict.ts';

/** Cluster indices are small; a path segment is text, parsed whole by parseIndex (no coercion). */
const MAX_CLUSTER = 64;
const Params = Type.Object({ id: Type.String(), cluster: Type.String() });

export function tfjsModelJson(spec: ModelSpec, widthRatio: number, weightsPath: string): object {
  const model = buildModel(spec, widthRatio);
  const topology = model.toJSON(null, false);
  model.dispose();
  return {
    format: 'layers-model',
    generatedBy: 'fedtsa',
    modelTopology: topology,
    weightsManifest: [{ paths: [weightsPath], weights: modelManifest(spec, widthRatio).map((p) => ({ name: p.name, shape: p.shape, dtype: 'float32' })) }],
  };
}

export function registerModelRoutes(app: FastifyInstance, registry: RunRegistry): void {
  /** The cluster's current model, or undefined after sending the refusal (400 bad index, 404 no run or no model yet). */
  const modelOr404 = (params: unknown, reply: FastifyReply) => {
    const { id, cluster: text } = params as { id: string; cluster: string };
    const cluster = parseIndex(text, MAX_CLUSTER);
    if (cluster === undefined) return void refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', `params.cluster: expected an integer from 0 to ${MAX_CLUSTER} in plain decimal digits`);
    const engine = findEngineOr404(registry, id, reply);
    if (!engine) return undefined;
    const model = engine.clusterModels().find((m) => m.clusterIndex === cluster);
    if (!model) return void refuse(reply, 404, 'FEDTSA_ERR_NOT_FOUND', `run ${id} has no model for cluster ${cluster} yet`);
    return { ...model, spec: engine.modelSpec };
  };

  app.get('/api/runs/:id/clusters/:cluster/model.json', { schema: { params: Params } }, async (req, reply) => {
    const model = modelOr404(req.params, reply);
    return model ? tfjsModelJson(model.spec, model.widthRatio, 'weights.bin') : reply;
  });

  app.get('/api/runs/:id/clusters/:cluster/weights.bin', { schema: { params: Params } }, async (req, reply) => {
    const model = modelOr404(req.params, reply);
    if (!model) return reply;
    const w = model.weights;
    return reply.type('application/octet-stream').send(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  });
}
