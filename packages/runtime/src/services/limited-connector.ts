import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import type * as Undici from 'undici';
import { onFirstUse } from '../load-on-first-use.js';
import type { ConnectionLimit } from './connection-limit.js';

const undici = onFirstUse<typeof Undici>('undici');

/**
 * An undici `connect` function that holds a permit of `limit` for as long as each socket is
 * open: a connection past the limit waits for another to close, within the connect timeout (as
 * Spin's outbound HTTP, where the timeout covers both the wait and the connect).
 */
export function limitedConnector(limit: ConnectionLimit, options: buildConnector.BuildOptions & { timeout?: number | null }): buildConnector.connector {
  const connect = undici().buildConnector(options);
  const timeout = options.timeout ?? 10_000;
  return (opts, callback) => {
    const signal = timeout > 0 ? AbortSignal.timeout(timeout) : undefined;
    limit.acquire(signal).then(
      (permit) => {
        connect(opts, (err, socket) => {
          if (err !== null || socket === null) {
            permit.release();
            callback(err ?? new Error('connect failed'), null);
            return;
          }
          (socket as Socket).once('close', () => permit.release());
          callback(null, socket);
        });
      },
      () => {
        callback(Object.assign(new Error(`waited ${timeout} ms for an outbound connection permit (the runtime config's connection limit is reached)`), { code: 'UND_ERR_CONNECT_TIMEOUT' }), null);
      },
    );
  };
}

/**
 * `[outbound_http]`'s connection limit as Spin computes it: `max_connections`, or the deprecated
 * `max_concurrent_requests` + 1 (its old semaphore let one more through).
 */
export function outboundHttpConnectionLimit(section: { maxConnections?: number | undefined; maxConcurrentRequests?: number | undefined } | undefined): number | undefined {
  if (section?.maxConnections !== undefined) return section.maxConnections;
  if (section?.maxConcurrentRequests !== undefined) return section.maxConcurrentRequests + 1;
  return undefined;
}
