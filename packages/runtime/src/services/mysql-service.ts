import type Mysql from 'mysql2';
import type { FieldPacket, Pool, PoolConnection, PoolOptions } from 'mysql2';
import { ConnectionLimit, type LimitedSemaphore, type Permit } from './connection-limit.js';
import { checkAddress, redactAddress, resolveAllowedAddress, type OutboundPolicy } from './outbound-address.js';
import { OwnedHandles } from './owned-handles.js';
import { MysqlValueError, mysqlDataType, mysqlParameter, mysqlValue, type RdbmsDataType, type RdbmsDbValue, type RdbmsParameterValue } from './mysql-values.js';
import { err, messageOf, ok, type Outcome } from './service-outcome.js';
import { onFirstUse } from '../load-on-first-use.js';

/** mysql2, loaded with the first MySQL connection. */
const mysql = onFirstUse<typeof Mysql>('mysql2');

/** `error` of fermyon:spin/rdbms-types@2.0.0 (the unversioned `mysql-error` is adapted from it). */
export type RdbmsError = { tag: 'connection-failed' | 'bad-parameter' | 'query-failed' | 'value-conversion-failed' | 'other'; val: string };

/** `row-set` of rdbms-types. */
export interface RdbmsRowSet {
  columns: Array<{ name: string; dataType: RdbmsDataType }>;
  rows: RdbmsDbValue[][];
}

/** Options of {@link createMysqlService}. */
export interface MysqlServiceOptions extends OutboundPolicy {
  /** `[outbound_mysql] max_connections`. @default unlimited */
  maxConnections?: number | undefined;
  /** `[outbound_networking] max_total_connections`, shared with the other services. */
  globalLimit?: LimitedSemaphore | undefined;
  /** Connections per server pool. @default 64 */
  poolSize?: number;
  /** @default 30000 */
  connectTimeoutMs?: number;
}

/** Outbound MySQL for every guest of one app, through mysql2 pools of this app only. */
export interface MysqlService {
  /** Checks `address` (`mysql://user:password@host:port/db`) against the allow-list, then takes a permit and a pooled connection. */
  open(owner: string, componentId: string, address: string, signal?: AbortSignal): Promise<Outcome<number, RdbmsError>>;
  query(owner: string, handle: number, statement: string, params: readonly RdbmsParameterValue[]): Promise<Outcome<RdbmsRowSet, RdbmsError>>;
  execute(owner: string, handle: number, statement: string, params: readonly RdbmsParameterValue[]): Promise<Outcome<void, RdbmsError>>;
  /** The guest dropped its connection: it is reset (COM_RESET_CONNECTION) and pooled. */
  drop(owner: string, handle: number): void;
  releaseOwner(owner: string): void;

  stats(): { held: number };
  close(): Promise<void>;
}

interface Held {
  conn: PoolConnection;
  permit: Permit;
}

const MAX_RESULT_BYTES = 128 * 1024 * 1024;

/** Creates the MySQL service of one app. */
export function createMysqlService(options: MysqlServiceOptions): MysqlService {
  const limit = new ConnectionLimit(options.maxConnections, options.globalLimit);
  const handles = new OwnedHandles<Held>();
  const pools = new Map<string, Pool>();
  let closed = false;

  const connect = async (url: URL): Promise<PoolConnection> => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const address = await resolveAllowedAddress(options, host);
    const sslMode = [...url.searchParams].find(([k]) => ['ssl-mode', 'sslmode'].includes(k.toLowerCase()))?.[1];
    const useTls = sslMode !== undefined && sslMode.toLowerCase() !== 'disabled';
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    const config: PoolOptions = {
      host: address,
      port: url.port === '' ? 3306 : Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      ...(database === '' ? {} : { database }),
      connectionLimit: options.poolSize ?? 64,
      maxIdle: 16,
      idleTimeout: 30_000,
      connectTimeout: options.connectTimeoutMs ?? 30_000,
      resetOnRelease: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      jsonStrings: true,
      decimalNumbers: false,
      // mysql2 hands ssl to tls.connect; servername keeps SNI and the certificate check on the name, not the resolved address.
      ...(useTls ? { ssl: { servername: host, rejectUnauthorized: true } as object } : {}),
    };
    const key = JSON.stringify(config);
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = mysql().createPool(config);
      pools.set(key, pool);
    }
    const from = pool;
    return new Promise<PoolConnection>((resolve, reject) => from.getConnection((e, conn) => (e ? reject(e) : resolve(conn))));
  };

  const run = (h: Held, statement: string, params: readonly RdbmsParameterValue[]): Promise<[unknown, FieldPacket[] | undefined]> =>
    new Promise((resolve, reject) => {
      h.conn.execute({ sql: statement, rowsAsArray: true }, params.map(mysqlParameter) as never[], (e, rows, fields) => (e ? reject(e) : resolve([rows, fields])));
    });

  const release = (h: Held): void => {
    h.permit.release();
    h.conn.release(); // the pool resets the session (resetOnRelease) before reuse
  };

  return {
    async open(owner, componentId, address, signal) {
      let url: URL;
      try {
        url = new URL(address);
      } catch {
        return err({ tag: 'connection-failed', val: 'invalid MySQL address: expected mysql://user:password@host:port/database' });
      }
      const check = checkAddress(options, componentId, address, 'mysql');
      if (!check.allowed || url.protocol !== 'mysql:') return err({ tag: 'connection-failed', val: `address ${redactAddress(address)} is not permitted` });
      let permit: Permit;
      try {
        permit = await limit.acquire(signal);
      } catch {
        return err({ tag: 'connection-failed', val: 'too many connections' });
      }
      try {
        const conn = await connect(url);
        if (closed || signal?.aborted === true) {
          conn.release();
          permit.release();
          return err({ tag: 'other', val: 'cancelled' });
        }
        return ok(handles.add(owner, { conn, permit }));
      } catch (e) {
        permit.release();
        return err({ tag: 'connection-failed', val: messageOf(e) });
      }
    },
    async query(owner, handle, statement, params) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'connection-failed', val: 'no connection found' });
      let rows: unknown;
      let fields: FieldPacket[] | undefined;
      try {
        [rows, fields] = await run(h, statement, params);
      } catch (e) {
        return err({ tag: 'query-failed', val: messageOf(e) });
      }
      const columns = (fields ?? []).map((f) => ({ name: f.name, dataType: mysqlDataType(f.columnType ?? f.type ?? -1, typeof f.flags === 'number' ? f.flags : 0) }));
      const out: RdbmsDbValue[][] = [];
      let size = 0;
      try {
        for (const raw of Array.isArray(rows) ? (rows as unknown[][]) : []) {
          out.push(raw.map((v, i) => {
            size += v instanceof Uint8Array || typeof v === 'string' ? v.length : 8;
            const column = columns[i];
            return mysqlValue(v, column?.dataType ?? 'other', column?.name ?? String(i));
          }));
          if (size > MAX_RESULT_BYTES) return err({ tag: 'other', val: `query result exceeds limit of ${MAX_RESULT_BYTES} bytes` });
        }
      } catch (e) {
        return err({ tag: 'value-conversion-failed', val: e instanceof MysqlValueError ? e.message : messageOf(e) });
      }
      return ok({ columns, rows: out });
    },
    async execute(owner, handle, statement, params) {
      const h = handles.get(owner, handle);
      if (h === undefined) return err({ tag: 'connection-failed', val: 'no connection found' });
      try {
        await run(h, statement, params);
        return ok(undefined);
      } catch (e) {
        return err({ tag: 'query-failed', val: messageOf(e) });
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
      return { held: handles.size };
    },
    async close() {
      closed = true;
      for (const h of handles.removeAll()) {
        h.permit.release();
        h.conn.destroy();
      }
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => new Promise<void>((resolve) => p.end(() => resolve()))));
    },
  };
}
