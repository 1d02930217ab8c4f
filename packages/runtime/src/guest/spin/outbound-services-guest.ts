/**
 * Worker half of the outbound services capability: each component gets Redis, PostgreSQL, MySQL
 * and MQTT imports over the worker's channel, its connections scoped to one request.
 */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { InstanceContext } from '../host-registry.js';
import type { OutboundServicesGuestInit } from '../../services/outbound-services-capability.js';
import { mqttImports } from './mqtt.js';
import { mysqlImports } from './mysql.js';
import { postgresImports } from './postgres.js';
import { redisImports } from './redis.js';
import { createServiceClient, type ServiceClient } from './service-client.js';

export const createGuestCapability: CreateGuestCapability = (raw, { channel }): GuestCapability => {
  const init = raw as OutboundServicesGuestInit;
  const spinPostgres = new Map(init.spinPostgres);
  const clients = new WeakMap<InstanceContext, ServiceClient>();
  return {
    imports(ctx) {
      const client = createServiceClient(channel, ctx.componentId);
      clients.set(ctx, client);
      return { ...redisImports(client), ...postgresImports(client, spinPostgres.get(ctx.componentId) ?? '4'), ...mysqlImports(client), ...mqttImports(client) };
    },
    beginRequest: (ctx) => clients.get(ctx)?.beginRequest(),
    endRequest: (ctx) => clients.get(ctx)?.endRequest(),
  };
};
