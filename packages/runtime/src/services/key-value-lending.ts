/**
 * Main thread: lends a worker a connection to a Redis key-value store of the app, for as long as
 * the worker keeps the `lend` call open (its life, unless the connection breaks), so the worker
 * sends the store's commands itself (`guest/spin/key-value-lane.ts`). Each lending has a
 * connection of its own, closed when the lending ends: it is never shared, nor pooled.
 */
import type { ServerCall } from '../channel/bridge-server.js';
import { RespConnection, respConnectOptions } from './resp-connection.js';
import { messageOf } from './service-outcome.js';

/** What a worker gets first on a `lend` call: the socket's descriptor and guard, or neither when the connection cannot be lent (TLS, a query string). */
export interface KvLendGrant {
  fd?: number;
  guard?: SharedArrayBuffer;
}

/**
 * Whether the connections of a Redis store at `url` can be lent to the workers: plain `redis://`
 * without a query string. kv-wit's store (ioredis) takes every query item as an option (`?db=`,
 * `?password=`, `?username=` …), which the lent connection (`resp-connection.ts`, path and
 * userinfo only) would not see: its commands would go to another database, or fail to authenticate.
 */
export function lendableRedisUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'redis:' && parsed.search === '';
  } catch {
    return false;
  }
}

/**
 * Connects to `url` and lends the connection over `call`; resolves when the lending ended.
 * @throws RespConnectionError, RespServerError when the connection cannot be made (the worker's operation fails with it)
 */
export async function lendKvConnection(url: string | undefined, call: Pick<ServerCall, 'push' | 'incoming' | 'signal'>): Promise<void> {
  const parsed = url === undefined || !lendableRedisUrl(url) ? undefined : new URL(url);
  if (parsed === undefined) {
    call.push({} satisfies KvLendGrant);
    return;
  }
  const conn = await RespConnection.connect(respConnectOptions(parsed, parsed.hostname.replace(/^\[|\]$/g, '')));
  const lending = conn.lend((error) => call.push({ failed: messageOf(error) }));
  if (lending === undefined) {
    conn.close();
    call.push({} satisfies KvLendGrant);
    return;
  }
  await new Promise<void>((resolve) => {
    const end = (): void => {
      conn.reclaim(false); // closes it
      resolve();
    };
    call.push({ fd: lending.fd, guard: lending.guard.buffer as SharedArrayBuffer } satisfies KvLendGrant);
    if (call.signal.aborted) end();
    else call.signal.addEventListener('abort', end, { once: true });
    void (async () => {
      // Bytes the worker's write left over; its `{ clean }` at the end changes nothing here.
      for await (const input of call.incoming) if (input instanceof Uint8Array) conn.writeLent(input);
    })();
  });
}
