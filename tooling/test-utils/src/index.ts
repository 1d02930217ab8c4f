export * from './registry.js';
export * from './redis.js';
export * from './wasm.js';
export * from './postgres.js';
export * from './mariadb.js';
export * from './mosquitto.js';
export { freeLoopbackPort, acceptsConnections } from './service-process.js';
export * from './outbound-guests.js';
export * from './tls.js';
