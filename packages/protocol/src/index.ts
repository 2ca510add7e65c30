/** Public API of @fedtsa/protocol. Never import this file from inside the package. */
export * from './codec.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './half.ts';
export * from './messages.ts';
