import { getKernelsForBackend } from '@tensorflow/tfjs-core';
import { useBackend } from '../packages/fedtsa-core/src/backend.ts';
await useBackend('wasm');
const names = new Set(getKernelsForBackend('wasm').map(k=>k.kernelName));
for (const n of ['ResizeNearestNeighbor','ResizeNearestNeighborGrad','AvgPool','AvgPoolGrad','Tile','GatherV2','SquaredDifference','Mean','Sigmoid','Rsqrt','Sin','Cos','Exp','ConcatV2','Slice','UnsortedSegmentSum','Neg','RealDiv','BroadcastTo']) console.log(n, names.has(n));
