/**
 * The outbound services capability: Redis (`fermyon:spin/redis@2.0.0` and Spin 1's unversioned
 * `redis`), PostgreSQL (`fermyon:spin/postgres@2.0.0`, unversioned `postgres`,
 * `spin:postgres/postgres@3.0.0`, `@4.0.0`, `@4.1.0`), MySQL (`fermyon:spin/mysql@2.0.0`,
 * unversioned `mysql`) and MQTT (`fermyon:spin/mqtt@2.0.0`). Guests reach the main thread's
 * pooled clients over their worker's channel, within `allowed_outbound_hosts`.
 */
import type { Capability, CapabilityService } from '../capability.js';
import { UNVERSIONED, type InterfaceSpec } from '../prepare/interface-set.js';
import { createMqttService } from './mqtt-service.js';
import { createMysqlService } from './mysql-service.js';
import { createPostgresService } from './postgres-service.js';
import { createRedisService } from './redis-service.js';
import { OUTBOUND_SERVICES_METHOD, outboundServicesHandler, type OutboundServices } from './services-bridge.js';

/** The outbound services once set up. */
export interface OutboundServicesService extends CapabilityService {
  readonly services: OutboundServices;
}

export const OUTBOUND_SERVICES_INTERFACES: readonly InterfaceSpec[] = [
  { name: 'fermyon:spin/redis', versions: ['2.0.0', UNVERSIONED] },
  { name: 'fermyon:spin/redis-types', versions: [UNVERSIONED] },
  { name: 'fermyon:spin/postgres', versions: ['2.0.0', UNVERSIONED] },
  { name: 'fermyon:spin/mysql', versions: ['2.0.0', UNVERSIONED] },
  { name: 'fermyon:spin/rdbms-types', versions: ['2.0.0', UNVERSIONED] },
  { name: 'fermyon:spin/mqtt', versions: ['2.0.0'] },
  { name: 'spin:postgres/postgres', versions: ['3.0.0', '4.0.0', '4.1.0'] },
];

/**
 * The outbound services capability. `[outbound_redis|pg|mysql|mqtt]` of the checked runtime config
 * apply, and every connection also holds a permit of `[outbound_networking] max_total_connections`
 * (the context's one semaphore, shared with outbound HTTP).
 */
export function outboundServicesCapability(): Capability & { setUp: (...a: Parameters<Capability['setUp']>) => Promise<OutboundServicesService> } {
  return {
    name: 'outbound-services',
    interfaces: OUTBOUND_SERVICES_INTERFACES,
    guestModule: new URL('../guest/spin/outbound-services-guest.js', import.meta.url).href,
    async setUp(context) {
      // The reader has already refused unknown keys and values out of range, naming line and column.
      const config = context.runtimeConfig;
      const policy = { app: context.app, allowedHosts: context.allowedHosts, blockNetworks: context.blockNetworks, lookup: context.lookup, globalLimit: context.totalConnections };
      const services: OutboundServices = {
        redis: createRedisService({ ...policy, maxConnections: config?.outboundRedis?.maxConnections }),
        pg: createPostgresService({ ...policy, maxConnections: config?.outboundPg?.maxConnections }),
        mysql: createMysqlService({ ...policy, maxConnections: config?.outboundMysql?.maxConnections }),
        mqtt: createMqttService({ ...policy, maxConnections: config?.outboundMqtt?.maxConnections, maxPayloadSizeBytes: config?.outboundMqtt?.maxPayloadSizeBytes }),
      };
      return {
        services,
        handlers: { [OUTBOUND_SERVICES_METHOD]: outboundServicesHandler(services) },
        // Databases and brokers never wait on this app's requests: a worker blocked on one starts no extra worker.
        independentMethods: [OUTBOUND_SERVICES_METHOD],
        // Each worker picks a component's spin:postgres shape from the imports its binary names (outbound-services-guest.ts).
        workerInit: () => ({}),
        async close() {
          await Promise.all([services.redis.close(), services.pg.close(), services.mysql.close(), services.mqtt.close()]);
        },
      };
    },
  };
}
