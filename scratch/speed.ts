import { useBackend } from '../packages/fedtsa-core/src/backend.ts';
import { buildModel } from '../packages/fedtsa-core/src/model.ts';
import { trainLocal } from '../packages/fedtsa-core/src/train.ts';
import { createRng } from '../packages/fedtsa-core/src/rng.ts';
await useBackend('wasm');
const n = 1024;
const data = { images: new Float32Array(n*784).map(()=>Math.random()), labels: Uint8Array.from({length:n},()=>Math.floor(Math.random()*10)), count:n, height:28,width:28,channels:1,numClasses:10 };
for (const bs of [32, 64]) for (const r of [1, 0.5, 0.25, 0.125]) {
  const m = buildModel({inputShape:[28,28,1], numClasses:10}, r);
  trainLocal(m, {...data, count: 128}, {epochs:1,batchSize:bs,learningRate:0.01,optimizer:'sgd',rng:createRng(1)});
  const t0 = performance.now();
  trainLocal(m, data, {epochs:1,batchSize:bs,learningRate:0.01,optimizer:'sgd',rng:createRng(1)});
  console.log('batch', bs, 'width', r, (n/((performance.now()-t0)/1000)).toFixed(0), 'samples/s');
  m.dispose();
}
