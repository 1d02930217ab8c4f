/**
 * PostgreSQL for guests, in jco's import shape, over the main thread's service:
 * `spin:postgres/postgres@4.0.0`/`@4.1.0` (the core model; 4.1 adds `connection-builder`),
 * `@3.0.0`, `fermyon:spin/postgres@2.0.0` and Spin 1's unversioned `fermyon:spin/postgres`.
 * jco names an import without its version, so the spin:postgres package gets the shape of the
 * version the component imports.
 */
import { failure } from '../wasi/result.js';
import type { PgError, PgRowSet } from '../../services/postgres-service.js';
import type { PgParameterValue } from '../../services/pg-values.js';
import type { RdbmsParameterValue } from '../../services/mysql-values.js';
import type { Outcome } from '../../services/service-outcome.js';
import { pgErrorV1, pgErrorV3, pgParamsFromRdbms, pgRowSetV2, pgRowSetV3 } from './rdbms-versions.js';
import { PgLane } from './postgres-lane.js';
import { openLent, type LentOpened } from './lent-socket.js';
import { DISPOSE } from './resource-dispose.js';
import type { ServiceClient } from './service-client.js';

/** Which spin:postgres shape a component gets. */
export type SpinPostgresVersion = '3' | '4';

type Call = <T>(op: string, args: unknown[]) => Outcome<T, PgError>;

/** A connection opened, and lent to this worker when the main thread can. */
function openPg(client: ServiceClient, address: string, caRoot: string | undefined): Outcome<LentOpened<PgLane>, PgError> {
  return openLent<PgLane, PgError>(client, 'pg', [address, caRoot], (call, fd, guard) => new PgLane(call, fd, guard));
}

function connectionClass(call: Call, client: ServiceClient, view: (e: PgError) => unknown, rows: (r: PgRowSet) => unknown, params: (p: never[]) => PgParameterValue[] | string) {
  const unwrap = <T>(o: Outcome<T, PgError>): T => {
    if (!o.ok) throw failure(view(o.error));
    return o.value;
  };
  return class Connection {
    readonly #handle: number;
    readonly #lane: PgLane | undefined;
    constructor(opened: LentOpened<PgLane>) {
      this.#handle = opened.handle;
      this.#lane = opened.lane;
    }
    static open(address: string): Connection {
      return new Connection(unwrap(openPg(client, address, undefined)));
    }
    query(statement: string, values: never[]): unknown {
      const p = params(values);
      if (typeof p === 'string') throw failure(view({ tag: 'value-conversion-failed', val: p }));
      return rows(unwrap(this.#lane !== undefined ? this.#lane.query(statement, p) : call<PgRowSet>('query', [this.#handle, statement, p])));
    }
    execute(statement: string, values: never[]): bigint {
      const p = params(values);
      if (typeof p === 'string') throw failure(view({ tag: 'value-conversion-failed', val: p }));
      return unwrap(this.#lane !== undefined ? this.#lane.execute(statement, p) : call<bigint>('execute', [this.#handle, statement, p]));
    }
    [DISPOSE](): void {
      this.#lane?.end();
      call('drop', [this.#handle]);
    }
  };
}

/** The import objects for a component's PostgreSQL interfaces. */
export function postgresImports(client: ServiceClient, spinPostgres: SpinPostgresVersion): Record<string, Record<string, unknown>> {
  const call: Call = <T>(op: string, args: unknown[]) => client.call<T, PgError>('pg', op, args);
  const same = (p: never[]): PgParameterValue[] => p;

  const V4 = connectionClass(call, client, (e) => e, (r) => r, same);
  class ConnectionBuilder {
    readonly #address: string;
    #caRoot: string | undefined;
    constructor(address: string) {
      this.#address = address;
    }
    setCaRoot(certificate: string): void {
      const checked = call<void>('check-ca-root', [certificate]);
      if (!checked.ok) throw failure(checked.error);
      this.#caRoot = certificate;
    }
    build(): InstanceType<typeof V4> {
      const opened = openPg(client, this.#address, this.#caRoot);
      if (!opened.ok) throw failure(opened.error);
      return new V4(opened.value);
    }
  }
  const V3 = connectionClass(call, client, pgErrorV3, pgRowSetV3, same);
  const V2 = connectionClass(call, client, pgErrorV3, pgRowSetV2, (p: never[]) => pgParamsFromRdbms(p as RdbmsParameterValue[]));

  /** Spin 1: one connection per call. */
  const once = <T>(address: string, op: string, values: RdbmsParameterValue[], statement: string): T => {
    const params = pgParamsFromRdbms(values);
    if (typeof params === 'string') throw failure({ tag: 'value-conversion-failed', val: params });
    const opened = call<number>('open', [address]);
    if (!opened.ok) throw failure(pgErrorV1(opened.error));
    client.opened();
    try {
      const r = call<T>(op, [opened.value, statement, params]);
      if (!r.ok) throw failure(pgErrorV1(r.error));
      return r.value;
    } finally {
      call('drop', [opened.value]);
    }
  };

  return {
    'spin:postgres/postgres': spinPostgres === '4' ? { Connection: V4, ConnectionBuilder } : { Connection: V3 },
    'fermyon:spin/postgres': {
      Connection: V2,
      query: (address: string, statement: string, params: RdbmsParameterValue[]) => pgRowSetV2(once<PgRowSet>(address, 'query', params, statement)),
      execute: (address: string, statement: string, params: RdbmsParameterValue[]) => once<bigint>(address, 'execute', params, statement),
    },
    'fermyon:spin/rdbms-types': {},
  };
}
