/**
 * `--listen` addresses: parsing `host:port` / `[v6]:port`, resolving names (preferring
 * 127.0.0.1 as Spin does), and binding with Spin's in-use message and free-port search.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Server } from 'node:net';
import { ListenError } from '../errors.js';

/** Spin's default listen address. */
export const DEFAULT_LISTEN = '127.0.0.1:3000';
const MAX_PORT_TRIES = 10;

/** A parsed `--listen` value. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `host:port` or `[v6]:port`.
 * @throws {ListenError} `RUNTIME_HTTP_INVALID_LISTEN` */
export function parseListenAddress(value: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ListenError('RUNTIME_HTTP_INVALID_LISTEN', `Invalid listen address '${value}': write HOST:PORT, e.g. 127.0.0.1:3000 or [::1]:3000.`);
  }
  return { host: m[1] as string, port };
}

/** Resolves a host name to one address, preferring 127.0.0.1, then IPv4. */
export async function resolveListenHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await lookup(host, { all: true });
  } catch (err) {
    throw new ListenError('RUNTIME_HTTP_INVALID_LISTEN', `Cannot resolve listen host '${host}': use an IP address or a resolvable name.`, { cause: err });
  }
  const pick = addresses.find((a) => a.address === '127.0.0.1') ?? addresses.find((a) => a.family === 4) ?? addresses[0];
  if (pick === undefined) throw new ListenError('RUNTIME_HTTP_INVALID_LISTEN', `Listen host '${host}' resolves to no address.`);
  return pick.address;
}

/**
 * Binds `server` to the address; with `findFreePort`, tries the next ports (up to 10).
 * @throws {ListenError} `RUNTIME_HTTP_ADDRESS_IN_USE` (Spin's message), `RUNTIME_HTTP_LISTEN_FAILED`
 */
export async function bindServer(server: Server, address: ListenAddress, findFreePort: boolean): Promise<void> {
  const host = await resolveListenHost(address.host);
  const display = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  for (let i = 0; ; i++) {
    const port = address.port + i;
    if (port > 65535) {
      throw new ListenError('RUNTIME_HTTP_LISTEN_FAILED', "Couldn't find a free port as we've reached the maximum port number. Consider retrying with a lower base port.");
    }
    try {
      await listenOnce(server, host, port);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE' && findFreePort && i + 1 < MAX_PORT_TRIES && address.port !== 0) continue;
      if (code === 'EADDRINUSE' && findFreePort) {
        throw new ListenError('RUNTIME_HTTP_ADDRESS_IN_USE', `Couldn't find a free port in the range ${address.port}-${address.port + MAX_PORT_TRIES}. Consider retrying with a different base port.`, { cause: err });
      }
      if (code === 'EADDRINUSE') {
        throw new ListenError('RUNTIME_HTTP_ADDRESS_IN_USE', `${display} is already in use. To have Spinel search for a free port, use the --find-free-port option.`, { cause: err });
      }
      throw new ListenError('RUNTIME_HTTP_LISTEN_FAILED', `Unable to listen on ${display}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function listenOnce(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}
