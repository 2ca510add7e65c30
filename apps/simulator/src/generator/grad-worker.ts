/** A data-parallel replica of the DDPM trainer: computes gradients on its shard, applies the average. */
import { parentPort, workerData } from 'node:worker_threads';
import { useBackend } from '@fedtsa/core/backend';
import { decodeCheckpoint } from '@fedtsa/core/diffusion/checkpoint';
import { cosineSchedule } from '@fedtsa/core/diffusion/schedule';
import { DdpmTrainer } from '@fedtsa/core/diffusion/trainer';
import type { GradReply, GradRequest, GradWorkerInit } from './messages.ts';

const init = workerData as GradWorkerInit;
await useBackend('wasm');
const trainer = new DdpmTrainer(init.config, cosineSchedule(init.scheduleSteps), init.options, init.seed);
if (init.resume) await trainer.restore(decodeCheckpoint(init.resume.modelJson, init.resume.weights));

const reply = (msg: GradReply, transfer: ArrayBuffer[] = []) => parentPort?.postMessage(msg, transfer);

parentPort?.on('message', (msg: GradRequest) => {
  try {
    if (msg.kind === 'grads') {
      const { loss, grads } = trainer.computeGradients(msg.images, msg.labels, msg.seed);
      const names = [...grads.keys()];
      const arrays = names.map((n) => grads.get(n) as Float32Array);
      reply({ kind: 'grads', loss, names, grads: arrays }, arrays.map((a) => a.buffer as ArrayBuffer));
    } else {
      trainer.applyGradients(new Map(msg.names.map((n, i) => [n, msg.grads[i] as Float32Array])));
      reply({ kind: 'applied', step: trainer.step });
    }
  } catch (err) {
    reply({ kind: 'error', error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
reply({ kind: 'ready' });
