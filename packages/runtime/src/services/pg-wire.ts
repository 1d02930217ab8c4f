/**
 * PostgreSQL's frontend/backend protocol (version 3.0), the part one extended-query statement
 * needs, with no I/O: the messages of a statement (Parse, Bind, Describe, Execute, Sync), a
 * reader of the server's replies up to ReadyForQuery, and the conversion of a result to the
 * interface's row set. Used by a worker running statements on a lent connection itself
 * (`guest/spin/postgres-lane.ts`); the main thread's service reads results through node-postgres
 * and shares the conversions, so both give a guest the same values and errors.
 * Message formats: https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { PgValueError, dataTypeOf, decodeText, isSupportedType, type PgDataType, type PgDbValue } from './pg-values.js';

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

/** Spin's limit on a result held in host memory (spin_world::MAX_HOST_BUFFERED_BYTES). */
export const MAX_RESULT_BYTES = 128 * 1024 * 1024;

/** An ErrorResponse's fields, under node-postgres's `DatabaseError` names. */
export interface PgErrorFields {
  severity?: string | undefined;
  code?: string | undefined;
  message?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
  column?: string | undefined;
  constraint?: string | undefined;
  routine?: string | undefined;
  table?: string | undefined;
  dataType?: string | undefined;
  schema?: string | undefined;
  file?: string | undefined;
  line?: string | undefined;
  where?: string | undefined;
}

/** A server error as the interface's `db-error`, its fields kept (Spin's `query_failed` in crates/factor-outbound-pg). */
export function pgDbError(fields: PgErrorFields): PgDbError {
  const extras: Array<[string, string]> = [];
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined) extras.push([name, value]);
  };
  add('column', fields.column);
  add('constraint', fields.constraint);
  add('routine', fields.routine);
  add('hint', fields.hint);
  add('table', fields.table);
  add('datatype', fields.dataType);
  add('schema', fields.schema);
  add('file', fields.file);
  add('line', fields.line);
  add('where_', fields.where);
  const severity = fields.severity ?? 'ERROR';
  const message = fields.message ?? '';
  return { asText: `db error: ${severity}: ${message}${fields.detail === undefined ? '' : `\nDETAIL: ${fields.detail}`}`, severity, code: fields.code ?? '', message, detail: fields.detail, extras };
}

/** A column of a result: its name and type. */
export interface PgField {
  name: string;
  oid: number;
}

/**
 * A result as the interface's row set: columns typed, fields converted from their text.
 * `typeName` names the types the interface has no case for.
 */
export function pgRowSet(fields: readonly PgField[], rows: ReadonlyArray<ReadonlyArray<string | null>>, typeName: (oid: number) => string): { ok: true; value: PgRowSet } | { ok: false; error: PgError } {
  const columns: PgColumn[] = fields.map((f) => ({ name: f.name, dataType: dataTypeOf(f.oid, typeName(f.oid)) }));
  const out: PgDbValue[][] = [];
  let size = 0;
  try {
    for (const raw of rows) {
      const row: PgDbValue[] = [];
      for (let i = 0; i < raw.length; i++) {
        const text = raw[i] ?? null;
        size += text === null ? 8 : text.length;
        row.push(decodeText(fields[i]?.oid ?? 0, text));
      }
      if (size > MAX_RESULT_BYTES) return { ok: false, error: tooLarge() };
      out.push(row);
    }
  } catch (e) {
    return { ok: false, error: { tag: 'query-failed', val: { tag: 'text', val: e instanceof PgValueError ? e.message : e instanceof Error ? e.message : String(e) } } };
  }
  return { ok: true, value: { columns, rows: out } };
}

function tooLarge(): PgError {
  return { tag: 'query-failed', val: { tag: 'text', val: `query result exceeds limit of ${MAX_RESULT_BYTES} bytes` } };
}

/** The OIDs among `oids` whose type names are neither converted nor known yet. */
export function unnamedTypes(oids: readonly number[], known: ReadonlyMap<number, string>): number[] {
  return [...new Set(oids)].filter((oid) => !isSupportedType(oid) && !known.has(oid));
}

/** The statement that names types by OID (its one parameter: `{oid,oid,…}`). */
export const TYPE_NAMES_STATEMENT = 'SELECT oid::text, typname::text FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])';

/** A command tag's row count, as node-postgres reads it (`INSERT 0 2` → 2, `SELECT 3` → 3, `CREATE TABLE` → 0). */
export function rowCountOf(tag: string | undefined): bigint {
  const m = /^[A-Za-z]+(?: (\d+))?(?: (\d+))?/.exec(tag ?? '');
  const n = m?.[2] ?? m?.[1];
  return n === undefined ? 0n : BigInt(n);
}

/** A statement's messages with its parameters (text, or a Buffer sent in binary), results asked as text. */
export function encodeStatement(statement: string, params: ReadonlyArray<string | Buffer | null>): Buffer {
  const w = new Writer();
  // Parse: the unnamed statement, parameter types left to the server (as node-postgres does).
  w.begin(0x50).cstring('').cstring(statement).int16(0).end();
  w.begin(0x42).cstring('').cstring('').int16(params.length);
  for (const p of params) w.int16(Buffer.isBuffer(p) ? 1 : 0);
  w.int16(params.length);
  for (const p of params) {
    if (p === null) w.int32(-1);
    else {
      const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      w.int32(bytes.length).bytes(bytes);
    }
  }
  w.int16(0).end(); // no result format codes: every column as text
  w.begin(0x44).byte(0x50).cstring('').end(); // Describe the portal: its columns
  w.begin(0x45).cstring('').int32(0).end(); // Execute, every row
  w.begin(0x53).end(); // Sync
  return w.done();
}

/**
 * CopyFail, then Sync: a guest cannot send COPY data (node-postgres answers a COPY FROM STDIN
 * with no stream by failing it too). The statement's own Sync came during copy-in mode, where the
 * server ignores it, so another one ends the statement.
 */
export function encodeCopyFail(reason: string): Buffer {
  return new Writer().begin(0x66).cstring(reason).end().begin(0x53).end().done();
}

/** What one statement gave, read up to its ReadyForQuery. */
export type PgStatementReply =
  | { ok: true; fields: PgField[]; rows: Array<Array<string | null>>; tag: string | undefined; status: string }
  | { ok: false; error: PgError; status: string };

/**
 * Reads the replies to one statement, fed the bytes as they come. `feed` returns the reply once
 * its ReadyForQuery has arrived (then `rest` holds what came after, normally nothing), or
 * undefined while more is needed. `onCopyIn` is called when the server asks for COPY data.
 */
export class PgStatementReader {
  private buffer: Buffer = Buffer.alloc(0);
  private fields: PgField[] = [];
  private rows: Array<Array<string | null>> | undefined = [];
  private size = 0;
  private tag: string | undefined;
  private error: PgError | undefined;
  rest: Buffer = Buffer.alloc(0);

  constructor(private readonly onCopyIn: () => void) {}

  feed(chunk: Buffer): PgStatementReply | undefined {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    const buf = this.buffer;
    while (buf.length - at >= 5) {
      const type = buf[at] as number;
      const len = buf.readInt32BE(at + 1);
      if (buf.length - at < 1 + len) break;
      const body = buf.subarray(at + 5, at + 1 + len);
      at += 1 + len;
      if (type === 0x5a) {
        // ReadyForQuery: the statement is over; its body is the transaction status (I, T or E).
        this.rest = buf.subarray(at);
        this.buffer = Buffer.alloc(0);
        const status = String.fromCharCode(body[0] ?? 0x49);
        if (this.error !== undefined) return { ok: false, error: this.error, status };
        return { ok: true, fields: this.fields, rows: this.rows ?? [], tag: this.tag, status };
      }
      this.message(type, body);
    }
    this.buffer = buf.subarray(at);
    return undefined;
  }

  private message(type: number, body: Buffer): void {
    switch (type) {
      case 0x54: // RowDescription
        this.fields = rowDescription(body);
        return;
      case 0x44: // DataRow
        if (this.rows !== undefined) this.dataRow(body);
        return;
      case 0x43: // CommandComplete
        this.tag = cstringAt(body, 0).text;
        return;
      case 0x45: // ErrorResponse: the rest of the statement is skipped up to ReadyForQuery
        this.error ??= { tag: 'query-failed', val: { tag: 'db-error', val: pgDbError(errorFields(body)) } };
        this.rows = undefined;
        return;
      case 0x47: // CopyInResponse
        this.onCopyIn();
        return;
      default:
        // ParseComplete, BindComplete, NoData, EmptyQueryResponse, notices, parameter status,
        // notifications, COPY out data: nothing the interface returns.
        return;
    }
  }

  private dataRow(body: Buffer): void {
    const n = body.readInt16BE(0);
    const row: Array<string | null> = new Array<string | null>(n);
    let at = 2;
    for (let i = 0; i < n; i++) {
      const len = body.readInt32BE(at);
      at += 4;
      if (len < 0) {
        row[i] = null;
        this.size += 8;
      } else {
        row[i] = body.toString('utf8', at, at + len);
        this.size += len;
        at += len;
      }
    }
    if (this.size > MAX_RESULT_BYTES) {
      // Kept reading (the connection stays in step) but no longer held.
      this.error ??= tooLarge();
      this.rows = undefined;
      return;
    }
    (this.rows as Array<Array<string | null>>).push(row);
  }
}

function rowDescription(body: Buffer): PgField[] {
  const n = body.readInt16BE(0);
  const fields: PgField[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const name = cstringAt(body, at);
    at = name.end;
    // table OID (4), column number (2), type OID (4), type size (2), type modifier (4), format (2)
    fields.push({ name: name.text, oid: body.readUInt32BE(at + 6) });
    at += 18;
  }
  return fields;
}

const ERROR_FIELDS: Readonly<Record<string, keyof PgErrorFields>> = {
  S: 'severity', C: 'code', M: 'message', D: 'detail', H: 'hint', W: 'where', s: 'schema', t: 'table',
  c: 'column', d: 'dataType', n: 'constraint', F: 'file', L: 'line', R: 'routine',
};

function errorFields(body: Buffer): PgErrorFields {
  const fields: PgErrorFields = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at] as number);
    const value = cstringAt(body, at + 1);
    at = value.end;
    const name = ERROR_FIELDS[code];
    if (name !== undefined) fields[name] = value.text;
  }
  return fields;
}

function cstringAt(buf: Buffer, at: number): { text: string; end: number } {
  let end = buf.indexOf(0, at);
  if (end < 0) end = buf.length;
  return { text: buf.toString('utf8', at, end), end: end + 1 };
}

/** Builds frontend messages: a type byte, then a length that counts itself and the body. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  private at = 0;
  private start = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  begin(type: number): this {
    this.room(5);
    this.buf[this.at] = type;
    this.start = this.at + 1;
    this.at += 5;
    return this;
  }
  end(): this {
    this.buf.writeInt32BE(this.at - this.start, this.start);
    return this;
  }
  byte(v: number): this {
    this.room(1);
    this.buf[this.at++] = v;
    return this;
  }
  int16(v: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
    return this;
  }
  int32(v: number): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }
  cstring(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.room(n + 1);
    this.at += this.buf.write(s, this.at, 'utf8');
    this.buf[this.at++] = 0;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}
