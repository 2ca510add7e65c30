/** Public API of @fedtsa/core for other packages. Never import this file from inside the package. */
export * from './architecture.ts';
export * from './aggregate.ts';
export * from './backend.ts';
export * from './kde.ts';
export * from './model.ts';
export * from './rng.ts';
export * from './submodel.ts';
export * from './train.ts';
export * from './width-policy.ts';
export * from './data/dataset.ts';
export * from './data/idx.ts';
export * from './data/cifar.ts';
export * from './data/partition.ts';
export * from './strategy/types.ts';
export * from './strategy/plan.ts';
export * from './strategy/strategies.ts';
export { registerFastConvGradients, unregisterFastConvGradients } from './kernels/conv-gradients.ts';
export { registerFastPoolAndMatMul, unregisterFastPoolAndMatMul } from './kernels/pool-matmul.ts';
