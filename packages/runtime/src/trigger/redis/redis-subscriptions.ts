/**
 * An app's Redis subscriptions, read from its locked triggers as Spin's Redis trigger reads them
 * (crates/trigger-redis/src/lib.rs): each `[[trigger.redis]]` has `component`, `channel` and an
 * optional `address`; without one it uses the app's `[application.trigger.redis] address` (Spin
 * 1's `trigger = { type = "redis", address }`). Addresses and channels may use `{{ variable }}`.
 * Subscriptions are grouped by address, then channel, in manifest order.
 */
import { parseTemplate, renderTemplate, type JsonValue, type LockedApp } from '@spinel/manifest';
import { RedisTriggerError } from '../../errors.js';

/** The channels one Redis server is subscribed to, and the components each message runs. */
export interface RedisServerSubscriptions {
  /** The address as resolved (`redis://user:pass@host:6379/0`); may hold credentials: never print it. */
  address: string;
  /** `host:port` of the address, as Spin prints it (no credentials). */
  display: string;
  /** Channel → component ids, in manifest order. */
  channels: Map<string, string[]>;
}

function isRecord(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The app-wide default address: `metadata.triggers.redis.address`, or a Spin 1 lock's `metadata.trigger` of type redis. */
function defaultAddress(app: LockedApp): string | undefined {
  const triggers = app.metadata?.triggers;
  if (isRecord(triggers) && isRecord(triggers['redis']) && typeof triggers['redis']['address'] === 'string') return triggers['redis']['address'];
  const legacy = app.metadata?.trigger;
  if (isRecord(legacy) && legacy['type'] === 'redis' && typeof legacy['address'] === 'string') return legacy['address'];
  return undefined;
}

/**
 * `host:port` of a Redis URL (port 6379 when none is written), as redis-rs's connection address
 * prints; a `redis+unix://` or `unix://` URL prints its path.
 */
export function displayRedisAddress(address: string): string {
  const url = new URL(address);
  if (url.protocol === 'unix:' || url.protocol === 'redis+unix:') return url.pathname;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return `${host}:${url.port === '' ? '6379' : url.port}`;
}

function render(template: string, values: Readonly<Record<string, string>>, what: string): string {
  let parts;
  try {
    parts = parseTemplate(template);
  } catch (cause) {
    throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `The ${what} is not a valid template: ${(cause as Error).message}.`, { cause });
  }
  const rendered = renderTemplate(parts, values);
  if (rendered === undefined) {
    const missing = parts.find((p) => p.kind === 'variable' && values[p.name] === undefined);
    const name = missing?.kind === 'variable' ? missing.name : '?';
    throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `The ${what} refers to variable "${name}", which has no value. Declare it in [variables] and give it a value.`);
  }
  return rendered;
}

/**
 * Reads and resolves the app's Redis triggers. An app without any returns an empty list.
 * @throws RedisTriggerError `RUNTIME_REDIS_INVALID_TRIGGER`: a trigger without `channel` or
 * `component`, naming an unknown component, with no address at all, an address that is not a
 * `redis://`/`rediss://` URL, or a template naming a variable without a value
 */
export function redisSubscriptions(app: LockedApp, variables: ReadonlyMap<string, string>): RedisServerSubscriptions[] {
  const values = Object.fromEntries(variables);
  const components = new Set(app.components.map((c) => c.id));
  const fallback = defaultAddress(app);
  const servers = new Map<string, RedisServerSubscriptions>();
  for (const trigger of app.triggers) {
    if (trigger.trigger_type !== 'redis') continue;
    const config = trigger.trigger_config;
    const where = `Redis trigger "${trigger.id}"`;
    if (!isRecord(config)) throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `${where} has no configuration; give it \`channel\` and \`component\`.`);
    const component = config['component'];
    const channel = config['channel'];
    if (typeof component !== 'string') throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `${where} has no \`component\`; name the component that handles its messages.`);
    if (!components.has(component)) throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `${where} names component "${component}", which the app does not have.`);
    if (typeof channel !== 'string') throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `${where} has no \`channel\`; name the channel to subscribe to.`);
    const addressTemplate = typeof config['address'] === 'string' ? config['address'] : fallback;
    if (addressTemplate === undefined || addressTemplate === '') {
      throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `${where} has no address: set \`address\` on the trigger or \`[application.trigger.redis] address = "redis://host:6379"\`.`);
    }
    const address = render(addressTemplate, values, `address of ${where}`);
    const resolvedChannel = render(channel, values, `channel of ${where}`);
    let display: string;
    try {
      if (!/^(rediss?|redis\+unix|unix):/.test(address)) throw new Error('not a Redis URL');
      display = displayRedisAddress(address);
    } catch {
      // The address may carry a password: say what is wrong without quoting it.
      throw new RedisTriggerError('RUNTIME_REDIS_INVALID_TRIGGER', `The address of ${where} is not a Redis URL; write it as redis://host:port (or rediss:// for TLS).`);
    }
    let server = servers.get(address);
    if (server === undefined) {
      server = { address, display, channels: new Map() };
      servers.set(address, server);
    }
    const ids = server.channels.get(resolvedChannel) ?? [];
    ids.push(component);
    server.channels.set(resolvedChannel, ids);
  }
  return [...servers.values()];
}

/** Spin's start-up text for the Redis trigger: `Active Channels on host:port:` and one tab-indented line per channel. */
export function redisStartupText(servers: readonly RedisServerSubscriptions[]): string {
  let out = '';
  for (const server of servers) {
    out += `Active Channels on ${server.display}:\n`;
    for (const [channel, ids] of server.channels) out += `\t${server.display}/${channel}: [${ids.join(',')}]\n`;
  }
  return out;
}
