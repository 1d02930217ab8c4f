import { X509Certificate } from 'node:crypto';
import type pg from 'pg';
import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { PgAddressError, parsePgConnectionString, type PgConnectConfig } from './pg-connection-string.js';
import { BUILTIN_TYPE_NAMES, PgValueError, dataTypeOf, decodeText, encodeParameter, isSupportedType, type PgDataType, type PgDbValue, type PgParameterValue } from './pg-values.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';
import { onFirstUse } from '../load-on-first-use.js';

/** pg, loaded with the first PostgreSQL connection. */
const loadPg = onFirstUse<typeof pg>('pg');

/** `db-error` of spin:postgres@4.x (record fields as jco names them). */
export interface PgDbError {
  asText: string;
  severity: string;
  code: string;
  message: string;
  detail: string | undefined;
  extras: Array<[string, string]>;
}

/** `error` of spin:postgres@4.x; the older interfaces are adapted from it. */
export type PgError =
  | { tag: 'connection-failed' | 'bad-parameter' | 'value-conversion-failed' | 'other'; val: string }
  | { tag: 'query-failed'; val: { tag: 'text'; val: string } | { tag: 'db-error'; val: PgDbError } };

export interface PgColumn {
  name: string;
  dataType: PgDataType;
}

/** `row-set` */
export interface PgRowSet {
  columns: PgColumn[];
  rows: PgDbValue[][];
}

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
}

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
}

/** Session settings whose text output the conversions read; they come after the guest's own options. */
const SESSION_OPTIONS = '-c DateStyle=ISO,MDY -c IntervalStyle=postgres -c bytea_output=hex';
/** Spin's limit on a result held in host memory (spin_world::MAX_HOST_BUFFERED_BYTES). */
const MAX_RESULT_BYTES = 128 * 1024 * 1024;
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

  let resetting = 0;
  const resetAndRelease = async (client: pg.PoolClient): Promise<void> => {
    // Spin's pool recycles with RecyclingMethod::Clean: the next guest gets a clean session.
    resetting += 1;
    try {
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK');
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
    void resetAndRelease(h.client);
  };

  const namesOf = async (client: pg.PoolClient, oids: number[]): Promise<void> => {
    const unknown = [...new Set(oids)].filter((oid) => !isSupportedType(oid) && !typeNames.has(oid));
    if (unknown.length === 0) return;
    try {
      const result = await client.query<[string, string]>({ text: 'SELECT oid::text, typname::text FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])', values: [`{${unknown.join(',')}}`], rowMode: 'array', types: RAW_TEXT });
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

  return {
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
      const columns: PgColumn[] = result.fields.map((f) => ({ name: f.name, dataType: dataTypeOf(f.dataTypeID, typeNames.get(f.dataTypeID) ?? String(f.dataTypeID)) }));
      const oids = result.fields.map((f) => f.dataTypeID);
      const rows: PgDbValue[][] = [];
      let size = 0;
      try {
        for (const raw of result.rows) {
          const row: PgDbValue[] = [];
          for (let i = 0; i < raw.length; i++) {
            const text = raw[i] ?? null;
            size += text === null ? 8 : text.length;
            row.push(decodeText(oids[i] ?? 0, text));
          }
          if (size > MAX_RESULT_BYTES) return err({ tag: 'query-failed', val: { tag: 'text', val: `query result exceeds limit of ${MAX_RESULT_BYTES} bytes` } });
          rows.push(row);
        }
      } catch (e) {
        return err({ tag: 'query-failed', val: { tag: 'text', val: e instanceof PgValueError ? e.message : messageOf(e) } });
      }
      return ok({ columns, rows });
    },
    async execute(owner, handle, statement, params) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'connection-failed', val: 'no connection found' });
      const outcome = await run(h, statement, params, 'value-conversion-failed');
      return outcome.ok ? ok(BigInt(outcome.value.rowCount ?? 0)) : outcome;
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
        h.client.release(true);
      }
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.end().catch(() => undefined)));
    },
  };
}

/** A failed statement as the interface reports it; a server error keeps its fields. */
function queryError(e: unknown): { tag: 'text'; val: string } | { tag: 'db-error'; val: PgDbError } {
  const dbe = e as Partial<pg.DatabaseError> & { message?: string };
  if (e instanceof loadPg().DatabaseError || (typeof dbe.code === 'string' && typeof dbe.severity === 'string')) {
    const extras: Array<[string, string]> = [];
    const add = (name: string, value: string | undefined): void => {
      if (value !== undefined) extras.push([name, value]);
    };
    add('column', dbe.column);
    add('constraint', dbe.constraint);
    add('routine', dbe.routine);
    add('hint', dbe.hint);
    add('table', dbe.table);
    add('datatype', dbe.dataType);
    add('schema', dbe.schema);
    add('file', dbe.file);
    add('line', dbe.line);
    add('where_', dbe.where);
    const severity = dbe.severity ?? 'ERROR';
    const message = dbe.message ?? '';
    return {
      tag: 'db-error',
      val: { asText: `db error: ${severity}: ${message}${dbe.detail === undefined ? '' : `\nDETAIL: ${dbe.detail}`}`, severity, code: dbe.code ?? '', message, detail: dbe.detail, extras },
    };
  }
  return { tag: 'text', val: messageOf(e) };
}
