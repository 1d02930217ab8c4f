export * from './registry.js';
export * from './redis.js';
export * from './wasm.js';
