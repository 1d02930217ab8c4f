import { OutboundConfigError } from '../errors.js';

/** `[outbound_redis]`, `[outbound_pg]`, `[outbound_mysql]`: Spin's only key is `max_connections`. */
export interface ServiceLimitsConfig {
  /** Most connections guests of the app hold open at once. @default unlimited */
  maxConnections?: number;
}

/** `[outbound_mqtt]`. */
export interface MqttLimitsConfig extends ServiceLimitsConfig {
  /** Largest payload a guest may publish. @default unlimited */
  maxPayloadSizeBytes?: number;
}

/** The outbound services' runtime config, as Spin reads it. */
export interface OutboundServicesConfig {
  redis: ServiceLimitsConfig;
  pg: ServiceLimitsConfig;
  mysql: ServiceLimitsConfig;
  mqtt: MqttLimitsConfig;
  /** `[outbound_networking] max_total_connections`: one cap over every service. */
  maxTotalConnections?: number;
}

const SECTIONS = {
  outbound_redis: ['max_connections'],
  outbound_pg: ['max_connections'],
  outbound_mysql: ['max_connections'],
  outbound_mqtt: ['max_connections', 'max_payload_size_bytes'],
} as const;

/**
 * Reads `[outbound_redis]`, `[outbound_pg]`, `[outbound_mysql]`, `[outbound_mqtt]` and
 * `[outbound_networking] max_total_connections` from a parsed runtime-config document. Spin
 * refuses unknown keys in these tables (serde `deny_unknown_fields`), and so does this.
 * @throws OutboundConfigError `RUNTIME_OUTBOUND_CONFIG` naming the table and key
 */
export function readOutboundServicesConfig(document: unknown): OutboundServicesConfig {
  const doc = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  const out: OutboundServicesConfig = { redis: {}, pg: {}, mysql: {}, mqtt: {} };
  for (const [section, keys] of Object.entries(SECTIONS)) {
    const table = doc[section];
    if (table === undefined) continue;
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      throw new OutboundConfigError(`[${section}] must be a table, e.g. [${section}] max_connections = 10.`);
    }
    const values: Record<string, number> = {};
    for (const [key, value] of Object.entries(table)) {
      if (!(keys as readonly string[]).includes(key)) {
        throw new OutboundConfigError(`unknown key \`${key}\` in [${section}]: expected ${keys.map((k) => `\`${k}\``).join(' or ')}.`);
      }
      values[key] = positiveInteger(value, section, key);
    }
    const limits: MqttLimitsConfig = {};
    if (values['max_connections'] !== undefined) limits.maxConnections = values['max_connections'];
    if (values['max_payload_size_bytes'] !== undefined) limits.maxPayloadSizeBytes = values['max_payload_size_bytes'];
    const name = section.slice('outbound_'.length) as 'redis' | 'pg' | 'mysql' | 'mqtt';
    out[name] = limits;
  }
  const networking = doc['outbound_networking'];
  if (typeof networking === 'object' && networking !== null && !Array.isArray(networking)) {
    const total = (networking as Record<string, unknown>)['max_total_connections'];
    if (total !== undefined) out.maxTotalConnections = positiveInteger(total, 'outbound_networking', 'max_total_connections');
  }
  return out;
}

function positiveInteger(value: unknown, section: string, key: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new OutboundConfigError(`[${section}] ${key} must be a whole number of 1 or more, not ${JSON.stringify(String(value))}.`);
  }
  return n;
}
