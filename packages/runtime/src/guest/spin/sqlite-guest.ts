/**
 * Worker half of the SQLite capability: each component gets the SQLite imports over its own
 * connections (only its `sqlite_databases` labels open); a request's connections are closed when
 * it ends, rolling back a transaction it left open.
 */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { SqliteWorkerInit } from '../../services/sqlite.js';
import type { InstanceContext } from '../host-registry.js';
import { createSqliteConnections, createSqliteFiles, type SqliteConnections } from './sqlite-core.js';
import { createSqliteImports } from './sqlite-imports.js';

export const createGuestCapability: CreateGuestCapability = (raw): GuestCapability => {
  const init = raw as SqliteWorkerInit;
  const files = createSqliteFiles();
  const databases = new Map(init.databases);
  const labels = new Map(init.components);
  const byInstance = new WeakMap<InstanceContext, SqliteConnections>();
  const all = new Set<SqliteConnections>();
  return {
    imports(ctx) {
      const sqlite = createSqliteConnections({ allowed: labels.get(ctx.componentId) ?? [], databases, files });
      byInstance.set(ctx, sqlite);
      all.add(sqlite);
      return createSqliteImports(sqlite) as unknown as Record<string, Record<string, unknown>>;
    },
    beginRequest: (ctx) => byInstance.get(ctx)?.closeAll(),
    endRequest: (ctx) => byInstance.get(ctx)?.closeAll(),
    close() {
      for (const sqlite of all) sqlite.closeAll();
      all.clear();
      files.close();
    },
  };
};
