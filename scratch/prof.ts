import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../packages/fedtsa-core/src/backend.ts';
import { buildModel } from '../packages/fedtsa-core/src/model.ts';
await useBackend('wasm');
const m = buildModel({inputShape:[28,28,1], numClasses:10}, 1);
const x = tf.randomUniform([32,28,28,1]); const y = tf.oneHot(tf.tensor1d(Array.from({length:32},(_, i)=>i%10),'int32'),10);
const opt = tf.train.momentum(0.01,0.9);
const vars = m.trainableWeights.map(w=>w.read() as tf.Variable);
const step = () => { const c = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x,{training:true}) as tf.Tensor) as tf.Scalar, true, vars); c!.dataSync(); c!.dispose(); };
for (let i=0;i<5;i++) step();
const agg = new Map<string, number>();
for (let r=0;r<5;r++){ const info = await tf.profile(() => { step(); });
for (const k of info.kernels) agg.set(k.name, (agg.get(k.name)??0) + (k.kernelTimeMs as number)/5);}
console.log([...agg.entries()].sort((a,b)=>b[1]-a[1]).slice(0,14).map(([k,v])=>k+' '+v.toFixed(1)).join('\n'));
const t0=performance.now(); for(let i=0;i<20;i++) step(); console.log('ms/step', (performance.now()-t0)/20);
