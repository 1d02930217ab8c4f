/**
 * Worker half of the outbound services capability: each component gets Redis, PostgreSQL, MySQL
 * and MQTT imports over the worker's channel, its connections scoped to one request.
 */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { InstanceContext } from '../host-registry.js';
import { mqttImports } from './mqtt.js';
import { mysqlImports } from './mysql.js';
import { postgresImports, type SpinPostgresVersion } from './postgres.js';
import { redisImports } from './redis.js';
import { createServiceClient, type ServiceClient } from './service-client.js';

/**
 * The spin:postgres shape a component was built against: jco's glue keys the import without its
 * version, so it is read from the versioned names the component's binary imports (4.x unless it
 * imports 3.x only).
 */
export function spinPostgresVersion(componentImports: readonly string[]): SpinPostgresVersion {
  const imports = (major: string): boolean => componentImports.some((name) => name.startsWith(`spin:postgres/postgres@${major}.`));
  return imports('3') && !imports('4') ? '3' : '4';
}

export const createGuestCapability: CreateGuestCapability = (_init, { channel }): GuestCapability => {
  const clients = new WeakMap<InstanceContext, ServiceClient>();
  return {
    imports(ctx, componentImports) {
      const client = createServiceClient(channel, ctx.componentId);
      clients.set(ctx, client);
      return { ...redisImports(client), ...postgresImports(client, spinPostgresVersion(componentImports)), ...mysqlImports(client), ...mqttImports(client) };
    },
    beginRequest: (ctx) => clients.get(ctx)?.beginRequest(),
    endRequest: (ctx) => clients.get(ctx)?.endRequest(),
  };
};
