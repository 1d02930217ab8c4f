import { X509Certificate } from 'node:crypto';
import type pg from 'pg';
import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { PgAddressError, parsePgConnectionString, type PgConnectConfig } from './pg-connection-string.js';
import { BUILTIN_TYPE_NAMES, encodeParameter, type PgParameterValue } from './pg-values.js';
import { LendableSocket } from './lendable-socket.js';
import { TYPE_NAMES_STATEMENT, pgDbError, pgRowSet, unnamedTypes, type PgDbError, type PgError, type PgRowSet } from './pg-wire.js';
import type { ServerCall } from '../channel/bridge-server.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';
import { onFirstUse } from '../load-on-first-use.js';

/** pg, loaded with the first PostgreSQL connection. */
const loadPg = onFirstUse<typeof pg>('pg');

export type { PgColumn, PgDbError, PgError, PgRowSet } from './pg-wire.js';

/** Options of {@link createPostgresService}. */
export interface PostgresServiceOptions extends OutboundPolicy {
  /** `[outbound_pg] max_connections`. @default unlimited */
  maxConnections?: number | undefined;
  /** `[outbound_networking] max_total_connections`, shared with the other services. */
  globalLimit?: LimitedSemaphore | undefined;
  /** Connections per server pool (Spin's CONNECTION_POOL_SIZE). @default 64 */
  poolSize?: number;
  /** @default 30000 */
  connectTimeoutMs?: number;
  /**
   * Whether a worker may run its statements on a connection itself ({@link PostgresService.openLent}).
   * @default true
   */
  lending?: boolean;
}

/**
 * What a worker gets first on a {@link PostgresService.openLent} call: the connection's handle and,
 * when it is lent, the socket's descriptor and the write guard the worker must hold.
 */
export interface PgOpenedGrant {
  handle: number;
  fd?: number;
  guard?: SharedArrayBuffer;
}

/**
 * What a worker sends on a lending call: bytes it could not write itself, or that it ends with no
 * statement in flight (`status`: the transaction status of its last ReadyForQuery, I, T or E).
 */
export type PgLendingInput = Uint8Array | { clean: true; status: string };

/** Outbound PostgreSQL for every guest of one app, through node-postgres pools of this app only. */
export interface PostgresService {
  /**
   * Checks every host of `address` against the component's allow-list (`postgres://host:port`),
   * then takes a permit and a pooled connection. `caRoot` is a PEM certificate to trust
   * (spin:postgres@4.1 `connection-builder.set-ca-root`).
   */
  open(owner: string, componentId: string, address: string, options?: { caRoot?: string | undefined; signal?: AbortSignal | undefined }): Promise<Outcome<number, PgError>>;
  query(owner: string, handle: number, statement: string, params: readonly PgParameterValue[]): Promise<Outcome<PgRowSet, PgError>>;
  execute(owner: string, handle: number, statement: string, params: readonly PgParameterValue[]): Promise<Outcome<bigint, PgError>>;
  /**
   * {@link PostgresService.open}, lending the connection to the calling worker for as long as
   * `call` runs: the call's first push is a {@link PgOpenedGrant}, and a later one says the
   * connection closed (`{ failed }`); the worker writes each statement's messages itself
   * (`channel/socket-lane.ts`) and reads the replies. The lending ends, and the connection is node-postgres's again, when the
   * worker cancels the call (or its channel closes) or the connection is released. A connection
   * that cannot be lent (TLS, lending off) is pushed without `fd` and the call ends: the worker
   * sends each statement as a call. An open that fails is the call's error outcome.
   */
  openLent(owner: string, componentId: string, address: string, caRoot: string | undefined, call: Pick<ServerCall, 'push' | 'incoming' | 'signal'>): Promise<Outcome<void, PgError>>;
  /** Whether connections may be lent; see {@link PostgresServiceOptions.lending}. */
  lending: boolean;
  /** Checks a PEM root certificate as `set-ca-root` does. */
  checkCaRoot(pem: string): Outcome<void, PgError>;
  /** The guest dropped its connection: the session is reset and the connection goes back to its pool. */
  drop(owner: string, handle: number): void;
  releaseOwner(owner: string): void;

  /**
   * `held`: connections held by guests now; `resetting`: connections guests dropped whose session
   * is still being reset before they go back to their pool.
   */
  stats(): { held: number; resetting: number };
  close(): Promise<void>;
}

interface Held {
  client: pg.PoolClient;
  permit: Permit;
  /** While lent to a worker: whether it said it has no statement in flight, and its transaction status then. */
  lent?: { clean: boolean; status: string; end(): void } | undefined;
  /** After a lending: the transaction status the worker left (I, T, E), or that it left a statement in flight. */
  lentStatus?: string | undefined;
}

/** Session settings whose text output the conversions read; they come after the guest's own options. */
const SESSION_OPTIONS = '-c DateStyle=ISO,MDY -c IntervalStyle=postgres -c bytea_output=hex';
/** Every field as the server's text, converted by pg-values.ts. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };
const NO_SSL = /does not support SSL/i;

/** Creates the PostgreSQL service of one app. */
export function createPostgresService(options: PostgresServiceOptions): PostgresService {
  const limit = new ConnectionLimit(options.maxConnections, options.globalLimit);
  const handles = new OwnedHandles<Held>();
  const pools = new Map<string, pg.Pool>();
  const plaintextOnly = new Set<string>();
  const typeNames = new Map<number, string>(BUILTIN_TYPE_NAMES);
  const poolSize = options.poolSize ?? 64;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  let closed = false;
  let lending = options.lending ?? true;

  const poolFor = (config: PgConnectConfig, host: string, address: string, port: number, tls: boolean, caRoot: string | undefined): pg.Pool => {
    const key = JSON.stringify([address, host, port, config.user, config.password, config.dbname, config.options, config.applicationName, tls, caRoot]);
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = new (loadPg().Pool)({
        host: address,
        port,
        max: poolSize,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
        connectionTimeoutMillis: config.connectTimeoutSeconds === undefined ? connectTimeoutMs : config.connectTimeoutSeconds * 1000,
        options: config.options === undefined ? SESSION_OPTIONS : `${config.options} ${SESSION_OPTIONS}`,
        ...(config.user === undefined ? {} : { user: config.user }),
        ...(config.password === undefined ? {} : { password: config.password }),
        ...(config.dbname === undefined ? {} : { database: config.dbname }),
        ...(config.applicationName === undefined ? {} : { application_name: config.applicationName }),
        ssl: tls ? { servername: host, rejectUnauthorized: true, ...(caRoot === undefined ? {} : { ca: caRoot }) } : false,
        // A socket that can be lent to a worker (plain TCP only: a TLS stream wraps it and is never lent).
        stream: () => new LendableSocket(),
      });
      // An idle pooled connection that fails (server restart) is dropped by the pool; nothing to report.
      pool.on('error', () => undefined);
      pools.set(key, pool);
    }
    return pool;
  };

  const connect = async (config: PgConnectConfig, caRoot: string | undefined): Promise<pg.PoolClient> => {
    let lastError: unknown;
    for (const { host, port } of config.hosts) {
      try {
        const address = await resolveAllowedAddress(options, host);
        const serverKey = `${address}:${port}`;
        const wantTls = config.sslmode !== 'disable' && !(plaintextOnly.has(serverKey) && (config.sslmode === 'prefer' || config.sslmode === 'allow'));
        try {
          return await poolFor(config, host, address, port, wantTls, caRoot).connect();
        } catch (e) {
          if (!wantTls || !NO_SSL.test(messageOf(e)) || (config.sslmode !== 'prefer' && config.sslmode !== 'allow')) throw e;
          plaintextOnly.add(serverKey); // sslmode=prefer: the server has no TLS, go on without it
          return await poolFor(config, host, address, port, false, caRoot).connect();
        }
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError instanceof Error ? lastError : new Error('no host to connect to');
  };

  const quiet = new WeakSet<pg.PoolClient>();
  let resetting = 0;
  const resetAndRelease = async (client: pg.PoolClient, status: string | null): Promise<void> => {
    // Spin's pool recycles with RecyclingMethod::Clean: the next guest gets a clean session.
    resetting += 1;
    try {
      if (status !== 'I') await client.query('ROLLBACK');
      await client.query('DISCARD ALL');
      client.release();
    } catch (e) {
      client.release(e instanceof Error ? e : new Error(String(e)));
    } finally {
      resetting -= 1;
    }
  };

  const release = (h: Held): void => {
    h.permit.release();
    h.lent?.end();
    if (h.lentStatus === 'in flight') {
      // A statement's replies may still be on their way: node-postgres would take them for its next query's.
      h.client.release(new Error('the connection was given back with a statement in flight'));
      return;
    }
    // A worker's statements left node-postgres's own transaction status behind: the worker's counts.
    void resetAndRelease(h.client, h.lentStatus ?? h.client.getTransactionStatus());
  };

  const namesOf = async (client: pg.PoolClient, oids: number[]): Promise<void> => {
    const unknown = unnamedTypes(oids, typeNames);
    if (unknown.length === 0) return;
    try {
      const result = await client.query<[string, string]>({ text: TYPE_NAMES_STATEMENT, values: [`{${unknown.join(',')}}`], rowMode: 'array', types: RAW_TEXT });
      for (const [oid, name] of result.rows) typeNames.set(Number(oid), name);
    } catch {
      // The names only label `other(...)` columns; go on without them.
    }
  };

  const run = async (h: Held, statement: string, params: readonly PgParameterValue[], conversionTag: 'bad-parameter' | 'value-conversion-failed'): Promise<Outcome<pg.QueryArrayResult<Array<string | null>>, PgError>> => {
    let values: Array<string | Buffer | null>;
    try {
      values = params.map(encodeParameter);
    } catch (e) {
      return err({ tag: conversionTag, val: messageOf(e) });
    }
    try {
      const result = await h.client.query<Array<string | null>>({ text: statement, values, rowMode: 'array', types: RAW_TEXT, queryMode: 'extended' } as pg.QueryArrayConfig);
      return ok(result);
    } catch (e) {
      return err({ tag: 'query-failed', val: queryError(e) });
    }
  };

  const service: PostgresService = {
    async open(owner, componentId, address, openOptions = {}) {
      let config: PgConnectConfig;
      try {
        config = parsePgConnectionString(address);
      } catch (e) {
        return err({ tag: 'connection-failed', val: e instanceof PgAddressError ? e.message : 'invalid PostgreSQL address' });
      }
      for (const { host, port } of config.hosts) {
        const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        const check = checkAddress(options, componentId, authority, 'postgres');
        if (!check.allowed) return err({ tag: 'connection-failed', val: `address postgres://${authority} is not permitted` });
      }
      let permit: Permit;
      try {
        permit = await limit.acquire(openOptions.signal);
      } catch {
        return err({ tag: 'connection-failed', val: 'too many connections' });
      }
      try {
        const client = await connect(config, openOptions.caRoot);
        if (closed || openOptions.signal?.aborted === true) {
          client.release();
          permit.release();
          return err({ tag: 'other', val: 'cancelled' });
        }
        if (!quiet.has(client)) {
          // A held connection the server closes between statements (or a worker's) makes the
          // client emit 'error' with no query to fail: the next use reports it instead.
          client.on('error', () => undefined);
          quiet.add(client);
        }
        return ok(handles.add(owner, { client, permit }));
      } catch (e) {
        permit.release();
        return err({ tag: 'connection-failed', val: messageOf(e) });
      }
    },
    async query(owner, handle, statement, params) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'connection-failed', val: 'no connection found' });
      const outcome = await run(h, statement, params, 'bad-parameter');
      if (!outcome.ok) return outcome;
      const result = outcome.value;
      await namesOf(h.client, result.fields.map((f) => f.dataTypeID));
      const fields = result.fields.map((f) => ({ name: f.name, oid: f.dataTypeID }));
      return pgRowSet(fields, result.rows, (oid) => typeNames.get(oid) ?? String(oid));
    },
    async execute(owner, handle, statement, params) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'connection-failed', val: 'no connection found' });
      const outcome = await run(h, statement, params, 'value-conversion-failed');
      return outcome.ok ? ok(BigInt(outcome.value.rowCount ?? 0)) : outcome;
    },
    get lending() {
      return lending;
    },
    set lending(on: boolean) {
      lending = on;
    },
    async openLent(owner, componentId, address, caRoot, call) {
      const opened = await service.open(owner, componentId, address, { caRoot, signal: call.signal });
      if (!opened.ok) return opened;
      const handle = opened.value;
      const h = handles.get(owner, handle);
      const socket = (h?.client as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
      const grant = lending && socket instanceof LendableSocket ? socket.lend() : undefined;
      if (h === undefined || grant === undefined || !(socket instanceof LendableSocket)) {
        call.push({ handle } satisfies PgOpenedGrant);
        return ok(undefined);
      }
      return new Promise((resolve) => {
        const closedUnder = (): void => call.push({ failed: 'Connection terminated unexpectedly' });
        const lent = {
          clean: false,
          status: 'I',
          end: (): void => {
            if (h.lent !== lent) return;
            h.lent = undefined;
            h.lentStatus = lent.clean ? lent.status : 'in flight';
            socket.reclaim();
            socket.off('close', closedUnder);
            if (!lent.clean) socket.destroy();
            call.signal.removeEventListener('abort', lent.end);
            resolve(ok(undefined));
          },
        };
        h.lent = lent;
        socket.once('close', closedUnder);
        call.push({ handle, fd: grant.fd, guard: grant.guard.buffer as SharedArrayBuffer } satisfies PgOpenedGrant);
        if (call.signal.aborted) lent.end();
        else call.signal.addEventListener('abort', lent.end, { once: true });
        void (async () => {
          for await (const input of call.incoming as AsyncIterable<PgLendingInput>) {
            if (input instanceof Uint8Array) {
              if (h.lent === lent && !socket.destroyed) socket.write(input);
            } else if (input.clean === true) {
              lent.clean = true;
              lent.status = input.status;
            }
          }
        })();
      });
    },
    checkCaRoot(pem) {
      try {
        new X509Certificate(pem);
        return ok(undefined);
      } catch (e) {
        return err({ tag: 'other', val: `invalid root certificate: ${messageOf(e)}` });
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
      return { held: handles.size, resetting };
    },
    async close() {
      closed = true;
      for (const h of handles.removeAll()) {
        h.permit.release();
        h.lent?.end();
        h.client.release(true);
      }
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.end().catch(() => undefined)));
    },
  };
  return service;
}

/** A failed statement as the interface reports it; a server error keeps its fields. */
function queryError(e: unknown): { tag: 'text'; val: string } | { tag: 'db-error'; val: PgDbError } {
  const dbe = e as Partial<pg.DatabaseError> & { message?: string };
  if (e instanceof loadPg().DatabaseError || (typeof dbe.code === 'string' && typeof dbe.severity === 'string')) return { tag: 'db-error', val: pgDbError(dbe) };
  return { tag: 'text', val: messageOf(e) };
}
