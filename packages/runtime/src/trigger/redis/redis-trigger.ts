/**
 * The Redis trigger: one subscriber connection per Redis server named by the app's Redis
 * triggers, each message on a subscribed channel run by every component listening on it, each in
 * a fresh instance (crates/trigger-redis/src/lib.rs). As in Spin, a server's messages are handled
 * in arrival order (the next waits until every component is done with the current one) and a
 * failing handler is reported with its component id while the subscription goes on. Unlike Spin,
 * which ends the trigger when the server goes away, the connection is retried with exponential
 * backoff and the channels are subscribed again.
 */
import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { LockedApp } from '@spinel/manifest';
import type { Redis } from 'ioredis';
import type * as IoRedis from 'ioredis';
import { onFirstUse } from '../../load-on-first-use.js';
import { redisStartupText, redisSubscriptions, type RedisServerSubscriptions } from './redis-subscriptions.js';
import { RedisTriggerError } from '../../errors.js';

const debug = debuglog('spinel:redis');

/** Published when a component's handler fails: `{ app, componentId, channel, error }` (the subscription goes on; `app` is the trigger's `LockedApp`). */
export const redisHandlerErrorChannel = channel('spinel:runtime:redis:handler-error');
/** Published when a server connection is lost or restored: `{ app, server, state: 'lost' | 'restored', error? }` (`server` is `host:port`). */
export const redisConnectionChannel = channel('spinel:runtime:redis:connection');

/** Runs one message in a fresh instance of `componentId`; rejects when the handler fails. */
export type RedisDispatch = (componentId: string, payload: Uint8Array, channel: string) => Promise<void>;

/** Options of {@link startRedisTrigger}. */
export interface RedisTriggerOptions {
  app: LockedApp;
  /** The app's resolved variables (for `{{ variable }}` in addresses and channels). */
  variables: ReadonlyMap<string, string>;
  dispatch: RedisDispatch;
  /** How long start-up waits for each server's first connection. @default 10000 */
  connectTimeoutMs?: number;
  /** Backoff between reconnection attempts: doubles from `initialMs` up to `maxMs`. @default { initialMs: 100, maxMs: 5000 } */
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * Asked as each message arrives: false drops it unhandled. A host that switches between
   * versions of an app subscribes the new one before the switch and lets only the serving one
   * handle a message. @default every message is handled
   */
  accept?: () => boolean;
  /** Called when a component is done with a message: `error` undefined when its handler succeeded. @default none */
  onHandled?: (componentId: string, channel: string, error: unknown) => void;
}

/** ioredis, loaded when an app has a Redis trigger. */
const ioredis = onFirstUse<typeof IoRedis>('ioredis');

/** A running Redis trigger. */
export interface RedisTrigger {
  /** The servers and channels subscribed to. */
  readonly servers: readonly RedisServerSubscriptions[];
  /** Spin's start-up text: `Active Channels on host:port:` and a line per channel. */
  startupText(): string;
  /** Unsubscribes, closes the connections, and waits for the messages being handled. */
  close(): Promise<void>;
}

/** Whether an app has any Redis trigger. */
export function hasRedisTriggers(app: LockedApp): boolean {
  return app.triggers.some((t) => t.trigger_type === 'redis');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Subscriber {
  server: RedisServerSubscriptions;
  client: Redis;
  /** The message being handled and those queued behind it. */
  tail: Promise<void>;
}

/**
 * Connects to every server the app's Redis triggers name, subscribes to their channels and starts
 * dispatching messages. Resolves once every server is connected and subscribed.
 * @throws RedisTriggerError `RUNTIME_REDIS_INVALID_TRIGGER` (see {@link redisSubscriptions}), `RUNTIME_REDIS_CONNECT` when a server cannot be reached in `connectTimeoutMs` (named by host and port)
 */
export async function startRedisTrigger(options: RedisTriggerOptions): Promise<RedisTrigger> {
  const servers = redisSubscriptions(options.app, options.variables);
  const initialMs = options.reconnect?.initialMs ?? 100;
  const maxMs = options.reconnect?.maxMs ?? 5000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const subscribers: Subscriber[] = [];
  let closed = false;

  const report = (componentId: string, channelName: string, error: unknown): void => {
    try {
      options.onHandled?.(componentId, channelName, error);
    } catch {
      // A host's counting must never stop the subscription (the next message waits on this one).
    }
  };

  const handle = async (server: RedisServerSubscriptions, channelName: string, payload: Uint8Array): Promise<void> => {
    const ids = server.channels.get(channelName);
    if (ids === undefined) {
      debug('message from unexpected channel %s on %s', channelName, server.display);
      return;
    }
    await Promise.all(
      ids.map(async (componentId) => {
        try {
          await options.dispatch(componentId, payload, channelName);
        } catch (error) {
          debug('Component %s handler failed: %s', componentId, errorText(error));
          if (redisHandlerErrorChannel.hasSubscribers) redisHandlerErrorChannel.publish({ app: options.app, componentId, channel: channelName, error });
          report(componentId, channelName, error);
          return;
        }
        report(componentId, channelName, undefined);
      }),
    );
  };

  const subscribe = async (server: RedisServerSubscriptions): Promise<Subscriber> => {
    const client = new (ioredis().Redis)(server.address, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      connectionName: 'spinel-redis-trigger',
      retryStrategy: (times) => (closed ? null : Math.min(initialMs * 2 ** Math.min(times - 1, 20), maxMs)),
    });
    const subscriber: Subscriber = { server, client, tail: Promise.resolve() };
    // ioredis reports every failed attempt as an error event; without a listener Node would throw.
    let lastError: unknown;
    client.on('error', (err) => {
      lastError = err;
      debug('redis %s: %s', server.display, errorText(err));
    });
    let connected = false;
    client.on('ready', () => {
      if (connected && redisConnectionChannel.hasSubscribers) redisConnectionChannel.publish({ app: options.app, server: server.display, state: 'restored' });
      connected = true;
    });
    client.on('close', () => {
      if (!closed && connected && redisConnectionChannel.hasSubscribers) redisConnectionChannel.publish({ app: options.app, server: server.display, state: 'lost', error: lastError });
    });
    client.on('messageBuffer', (channelBytes: Buffer, message: Buffer) => {
      if (options.accept?.() === false) return;
      const channelName = channelBytes.toString('utf8');
      const payload = new Uint8Array(message);
      subscriber.tail = subscriber.tail.then(() => handle(server, channelName, payload));
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RedisTriggerError('RUNTIME_REDIS_CONNECT', `The Redis trigger could not connect to ${server.display} within ${connectTimeoutMs} ms${lastError === undefined ? '' : ` (${errorText(lastError)})`}. Check that Redis runs there and the trigger's address.`)), connectTimeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // The first attempt's failure is retried by the strategy; only the deadline above ends the wait.
    client.connect().catch(() => undefined);
    try {
      await ready;
      await client.subscribe(...server.channels.keys());
    } catch (err) {
      client.disconnect();
      if (err instanceof RedisTriggerError) throw err;
      throw new RedisTriggerError('RUNTIME_REDIS_CONNECT', `The Redis trigger could not subscribe on ${server.display}: ${errorText(err)}.`, { cause: err });
    }
    return subscriber;
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const s of subscribers) s.client.disconnect();
    await Promise.all(subscribers.map((s) => s.tail));
  };

  try {
    for (const server of servers) subscribers.push(await subscribe(server));
  } catch (err) {
    await close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    servers,
    startupText: () => redisStartupText(servers),
    close: () => (closing ??= close()),
  };
}
