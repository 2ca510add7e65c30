import { maxPoolGradNonOverlapping } from '../packages/fedtsa-core/src/kernels/pool-matmul.ts';
const x = new Float32Array(32*28*28*16).map(()=>Math.random()); const dy = new Float32Array(32*14*14*16).map(()=>Math.random());
for (let i=0;i<5;i++) maxPoolGradNonOverlapping(x,[32,28,28,16],dy,[32,14,14,16],[2,2]);
let t0=performance.now(); for (let i=0;i<20;i++) maxPoolGradNonOverlapping(x,[32,28,28,16],dy,[32,14,14,16],[2,2]); console.log('pool1', (performance.now()-t0)/20);
