import { randomBytes } from 'node:crypto';
import type Mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, redactAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';
import { onFirstUse } from '../load-on-first-use.js';

/** mqtt.js, loaded with the first MQTT connection. */
const mqtt = onFirstUse<typeof Mqtt>('mqtt');

/** `error` of fermyon:spin/mqtt@2.0.0. */
export type MqttError = { tag: 'invalid-address' } | { tag: 'too-many-connections' } | { tag: 'connection-failed' | 'other'; val: string };
/** `qos`: an enum, so jco gives its case names. */
export type MqttQos = 'at-most-once' | 'at-least-once' | 'exactly-once';

/** Options of {@link createMqttService}. */
export interface MqttServiceOptions extends OutboundPolicy {
  /** `[outbound_mqtt] max_connections`. @default unlimited */
  maxConnections?: number | undefined;
  /** `[outbound_mqtt] max_payload_size_bytes`. @default unlimited */
  maxPayloadSizeBytes?: number | undefined;
  /** `[outbound_networking] max_total_connections`, shared with the other services. */
  globalLimit?: LimitedSemaphore | undefined;
  /** Idle connections kept per address and credentials. @default 8 */
  maxIdlePerKey?: number;
  /** @default 30000 */
  connectTimeoutMs?: number;
}

/** Outbound MQTT for every guest of one app. */
export interface MqttService {
  /** Checks `address` (`mqtt://host:port?client_id=…`) against the allow-list, then connects with the credentials. */
  open(owner: string, componentId: string, address: string, username: string, password: string, keepAliveSeconds: bigint, signal?: AbortSignal): Promise<Outcome<number, MqttError>>;
  /** Publishes and resolves once the broker has the message at the QoS asked (PUBACK for 1, PUBCOMP for 2). */
  publish(owner: string, handle: number, topic: string, payload: Uint8Array, qos: MqttQos): Promise<Outcome<void, MqttError>>;
  drop(owner: string, handle: number): void;
  releaseOwner(owner: string): void;

  stats(): { held: number; idle: number };
  close(): Promise<void>;
}

interface Held {
  key: string;
  client: MqttClient;
  permit: Permit;
}

const QOS: Record<MqttQos, 0 | 1 | 2> = { 'at-most-once': 0, 'at-least-once': 1, 'exactly-once': 2 };

/** Creates the MQTT service of one app. */
export function createMqttService(options: MqttServiceOptions): MqttService {
  const limit = new ConnectionLimit(options.maxConnections, options.globalLimit);
  const handles = new OwnedHandles<Held>();
  const idle = new Map<string, MqttClient[]>();
  const maxIdle = options.maxIdlePerKey ?? 8;
  let closed = false;

  const connect = async (url: URL, username: string, password: string, keepAlive: number): Promise<MqttClient> => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const address = await resolveAllowedAddress(options, host);
    const secure = url.protocol === 'mqtts:' || url.protocol === 'ssl:';
    const clientId = url.searchParams.get('client_id') ?? `spinel-${randomBytes(6).toString('hex')}`;
    return mqtt().connectAsync({
      protocol: secure ? 'mqtts' : 'mqtt',
      host: address,
      port: url.port === '' ? (secure ? 8883 : 1883) : Number(url.port),
      ...(secure ? { servername: host, rejectUnauthorized: true } : {}),
      clientId,
      ...(username === '' ? {} : { username }),
      ...(password === '' ? {} : { password }),
      keepalive: keepAlive,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs ?? 30_000,
    });
  };

  const release = (h: Held): void => {
    h.permit.release();
    if (closed || !h.client.connected) {
      h.client.end(true);
      return;
    }
    let list = idle.get(h.key);
    if (list === undefined) {
      list = [];
      idle.set(h.key, list);
    }
    if (list.length >= maxIdle) h.client.end();
    else list.push(h.client);
  };

  return {
    async open(owner, componentId, address, username, password, keepAliveSeconds, signal) {
      let url: URL;
      try {
        url = new URL(address);
      } catch {
        return err({ tag: 'invalid-address' });
      }
      if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(url.protocol)) return err({ tag: 'invalid-address' });
      const check = checkAddress(options, componentId, address, 'mqtt');
      if (!check.allowed) return err({ tag: 'connection-failed', val: `address ${redactAddress(address)} is not permitted` });
      const keepAlive = Number(keepAliveSeconds > 65_535n ? 65_535n : keepAliveSeconds);
      let permit: Permit;
      try {
        permit = await limit.acquire(signal);
      } catch {
        return err({ tag: 'too-many-connections' });
      }
      const key = JSON.stringify([address, username, password, keepAlive]);
      try {
        const pool = idle.get(key);
        let client = pool?.pop();
        while (client !== undefined && !client.connected) {
          client.end(true);
          client = pool?.pop();
        }
        client ??= await connect(url, username, password, keepAlive);
        if (closed || signal?.aborted === true) {
          client.end(true);
          permit.release();
          return err({ tag: 'other', val: 'cancelled' });
        }
        // mqtt.js emits 'error' for a broker refusal after connect; the pool drops such clients.
        client.removeAllListeners('error');
        client.on('error', () => undefined);
        return ok(handles.add(owner, { key, client, permit }));
      } catch (e) {
        permit.release();
        return err({ tag: 'connection-failed', val: messageOf(e) });
      }
    },
    async publish(owner, handle, topic, payload, qos) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'other', val: 'could not find connection for resource' });
      const max = options.maxPayloadSizeBytes;
      if (max !== undefined && payload.length > max) return err({ tag: 'other', val: `payload size ${payload.length} exceeds the maximum allowed size of ${max} bytes` });
      if (!h.client.connected) return err({ tag: 'connection-failed', val: 'the connection to the MQTT broker is closed' });
      try {
        await h.client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: QOS[qos] ?? 0, retain: false });
        return ok(undefined);
      } catch (e) {
        return err({ tag: 'connection-failed', val: messageOf(e) });
      }
    },
    drop(owner, handle) {
      const h = handles.remove(owner, handle);
      if (h !== undefined) release(h);
    },
    releaseOwner(owner) {
      for (const h of handles.removeOwner(owner)) release(h);
    },

    stats() {
      let n = 0;
      for (const list of idle.values()) n += list.length;
      return { held: handles.size, idle: n };
    },
    async close() {
      closed = true;
      const all = [...handles.removeAll().map((h) => (h.permit.release(), h.client)), ...[...idle.values()].flat()];
      idle.clear();
      await Promise.all(all.map((c) => c.endAsync(true).catch(() => undefined)));
    },
  };
}
