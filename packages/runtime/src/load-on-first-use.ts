/**
 * Client libraries of the services and the Redis trigger (undici, pg, mysql2, mqtt,
 * better-sqlite3, ioredis), loaded when first used rather than with the package: most apps use
 * none of them, and importing them all cost about 630 ms of CPU at every start, on the main
 * thread and again in every worker. They are CommonJS, so a synchronous require keeps their call
 * sites as they are.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A function returning the package `name` (resolved from this package), required on its first call. */
export function onFirstUse<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}
