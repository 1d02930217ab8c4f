/**
 * MySQL for guests, in jco's import shape: `fermyon:spin/mysql@2.0.0` (a `connection`
 * resource) and Spin 1's unversioned `fermyon:spin/mysql` (one connection per call), which
 * share jco's import key.
 */
import { failure } from '../wasi/result.js';
import type { RdbmsError, RdbmsRowSet } from '../../services/mysql-service.js';
import type { RdbmsParameterValue } from '../../services/mysql-values.js';
import type { Outcome } from '../../services/service-outcome.js';
import { mysqlErrorV1 } from './rdbms-versions.js';
import { DISPOSE } from './resource-dispose.js';
import type { ServiceClient } from './service-client.js';

/** The import objects for a component's MySQL interfaces. */
export function mysqlImports(client: ServiceClient): Record<string, Record<string, unknown>> {
  const call = <T>(op: string, args: unknown[]): Outcome<T, RdbmsError> => client.call<T, RdbmsError>('mysql', op, args);
  const unwrap = <T>(o: Outcome<T, RdbmsError>): T => {
    if (!o.ok) throw failure(o.error);
    return o.value;
  };

  class Connection {
    readonly #handle: number;
    private constructor(handle: number) {
      this.#handle = handle;
    }
    static open(address: string): Connection {
      const handle = unwrap(call<number>('open', [address]));
      client.opened();
      return new Connection(handle);
    }
    query(statement: string, params: RdbmsParameterValue[]): RdbmsRowSet {
      return unwrap(call<RdbmsRowSet>('query', [this.#handle, statement, params]));
    }
    execute(statement: string, params: RdbmsParameterValue[]): void {
      unwrap(call('execute', [this.#handle, statement, params]));
    }
    [DISPOSE](): void {
      call('drop', [this.#handle]);
    }
  }

  const once = <T>(address: string, op: string, statement: string, params: RdbmsParameterValue[]): T => {
    const opened = call<number>('open', [address]);
    if (!opened.ok) throw failure(mysqlErrorV1(opened.error));
    client.opened();
    try {
      const r = call<T>(op, [opened.value, statement, params]);
      if (!r.ok) throw failure(mysqlErrorV1(r.error));
      return r.value;
    } finally {
      call('drop', [opened.value]);
    }
  };

  return {
    'fermyon:spin/mysql': {
      Connection,
      query: (address: string, statement: string, params: RdbmsParameterValue[]) => once<RdbmsRowSet>(address, 'query', statement, params),
      execute: (address: string, statement: string, params: RdbmsParameterValue[]): void => void once(address, 'execute', statement, params),
    },
    'fermyon:spin/rdbms-types': {},
  };
}
