/**
 * A PostgreSQL connection lent to this worker (`PostgresService.openLent`): the worker encodes
 * each statement's extended-query messages and writes them on the socket itself, and reads the
 * replies from it too. Only the server and this worker wake per statement, not the main thread,
 * which has nothing to parse or convert either.
 * Made by `postgres.ts` when the service grants the connection.
 */
import type { BridgeCall } from '../../channel/sync-bridge.js';
import { BUILTIN_TYPE_NAMES, encodeParameter, isSupportedType, type PgParameterValue } from '../../services/pg-values.js';
import { PgStatementReader, TYPE_NAMES_STATEMENT, encodeCopyFail, encodeStatement, pgRowSet, rowCountOf, unnamedTypes, type PgError, type PgRowSet, type PgStatementReply } from '../../services/pg-wire.js';
import { messageOf, type Outcome } from '../../services/service-outcome.js';
import { LentSocket } from './lent-socket.js';

/** Type names learnt from servers, for `other(name)` columns (the main thread's service keeps its own). */
const typeNames = new Map<number, string>(BUILTIN_TYPE_NAMES);

/** One lent connection, for as long as the lending call runs. */
export class PgLane extends LentSocket {
  private pending: Buffer = Buffer.alloc(0);
  /** The transaction status of the last ReadyForQuery (I idle, T in a transaction, E in a failed one). */
  private status = 'I';

  constructor(call: BridgeCall, fd: number, guard: SharedArrayBuffer) {
    super(call, fd, guard, 'the connection was closed');
  }

  /** `query`: the row set, or the interface's error (never thrown). */
  query(statement: string, params: readonly PgParameterValue[]): Outcome<PgRowSet, PgError> {
    const reply = this.statement(statement, params, 'bad-parameter');
    if (!reply.ok) return reply;
    // Most results have only converted or already named types: no list made for them.
    const unknown = reply.fields.some((f) => !isSupportedType(f.oid) && !typeNames.has(f.oid)) ? unnamedTypes(reply.fields.map((f) => f.oid), typeNames) : [];
    if (unknown.length > 0) {
      const names = this.statement(TYPE_NAMES_STATEMENT, [{ tag: 'str', val: `{${unknown.join(',')}}` }], 'bad-parameter');
      // The names only label `other(...)` columns; without them the OID stands in.
      if (names.ok) for (const [oid, name] of names.rows) if (oid !== undefined && oid !== null && typeof name === 'string') typeNames.set(Number(oid), name);
    }
    return pgRowSet(reply.fields, reply.rows, (oid) => typeNames.get(oid) ?? String(oid));
  }

  /** `execute`: the rows affected, or the interface's error (never thrown). */
  execute(statement: string, params: readonly PgParameterValue[]): Outcome<bigint, PgError> {
    const reply = this.statement(statement, params, 'value-conversion-failed');
    return reply.ok ? { ok: true, value: rowCountOf(reply.tag) } : reply;
  }

  /**
   * Reusable (after the main thread resets its session) when no statement is in flight and the
   * server sent nothing past the last ReadyForQuery (a notice, a notification, an administrator's
   * FATAL read with it): node-postgres would not see those, so such a connection is closed.
   */
  protected releaseClean(): object | undefined {
    return this.pending.length > 0 ? undefined : { clean: true, status: this.status };
  }

  private statement(statement: string, params: readonly PgParameterValue[], conversionTag: 'bad-parameter' | 'value-conversion-failed'): (PgStatementReply & { ok: true }) | { ok: false; error: PgError } {
    let values: Array<string | Buffer | null>;
    try {
      values = params.map(encodeParameter);
    } catch (e) {
      return { ok: false, error: { tag: conversionTag, val: messageOf(e) } };
    }
    const refused = this.begin('the replies of an interrupted statement are still outstanding');
    if (refused !== undefined) {
      return 'released' in refused ? { ok: false, error: { tag: 'connection-failed', val: 'the connection was released' } } : { ok: false, error: { tag: 'query-failed', val: { tag: 'text', val: refused.failed } } };
    }
    const reader = new PgStatementReader(() => this.write(encodeCopyFail('COPY FROM STDIN is not supported')));
    try {
      if (!this.write(encodeStatement(statement, values))) return { ok: false, error: { tag: 'query-failed', val: { tag: 'text', val: this.failure ?? 'the connection was closed' } } };
      let reply = this.pending.length > 0 ? reader.feed(this.pending) : undefined;
      while (reply === undefined) {
        const chunk = this.nextChunk('Connection terminated unexpectedly');
        if (chunk === undefined) return { ok: false, error: { tag: 'query-failed', val: { tag: 'text', val: this.failure ?? 'Connection terminated unexpectedly' } } };
        reply = reader.feed(chunk);
      }
      this.pending = reader.rest;
      this.inFlight = false;
      this.status = reply.status;
      return reply.ok ? reply : { ok: false, error: reply.error };
    } catch (e) {
      this.failure = messageOf(e);
      return { ok: false, error: { tag: 'query-failed', val: { tag: 'text', val: this.failure } } };
    }
  }
}
