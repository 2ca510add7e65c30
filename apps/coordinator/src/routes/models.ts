/**
 * Each cluster's current model in the tfjs format: model.json (layers topology plus a
 * weights manifest) and weights.bin, loadable with tf.loadLayersModel.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { modelManifest, type ModelSpec } from '@fedtsa/core/architecture';
import { buildModel } from '@fedtsa/core/model';
import type { RunRegistry } from '../runs/run-registry.ts';
import { refuse } from './runs.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }), cluster: Type.Integer({ minimum: 0, maximum: 64 }) });

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

export function registerModelRoutes(app: FastifyInstance, registry: RunRegistry, spec: ModelSpec): void {
  const modelOf = (id: string, cluster: number) => registry.get(id)?.clusterModels().find((m) => m.clusterIndex === cluster);

  app.get('/api/runs/:id/clusters/:cluster/model.json', { schema: { params: Params } }, async (req, reply) => {
    const { id, cluster } = req.params as { id: string; cluster: number };
    const model = modelOf(id, cluster);
    if (!model) return refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND', `run ${id} has no model for cluster ${cluster} yet`);
    return tfjsModelJson(spec, model.widthRatio, 'weights.bin');
  });

  app.get('/api/runs/:id/clusters/:cluster/weights.bin', { schema: { params: Params } }, async (req, reply) => {
    const { id, cluster } = req.params as { id: string; cluster: number };
    const model = modelOf(id, cluster);
    if (!model) return refuse(reply, 404, 'FEDTSA_ERR_RUN_NOT_FOUND', `run ${id} has no model for cluster ${cluster} yet`);
    const w = model.weights;
    return reply.type('application/octet-stream').send(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  });
}
