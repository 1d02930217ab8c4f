/**
 * The host imports of Spin 0.x/1.x modules (wit-bindgen 0.2, Spin's `wit/ephemeral/*.wit` at tag
 * v1.5.1): `wasi-outbound-http`, `spin-config`, `key-value`, `outbound-redis` (also linked as
 * `redis`), `sqlite`, `outbound-pg`, `outbound-mysql` and `llm`. Each function takes its
 * arguments flattened (strings and lists as pointer and length) and, when its result does not fit
 * one value, a last pointer where the host writes the result; lists returned to the guest are
 * allocated with the module's `canonical_abi_realloc`. The layouts are those of the SDKs'
 * generated C bindings (sdk/go/*\/\*.c at v1.5.1).
 *
 * Every function is an adapter over the same host implementation a component gets (the import
 * objects of `fermyon:spin/http`, `fermyon:spin/config`, `fermyon:spin/key-value`,
 * `fermyon:spin/redis`, `fermyon:spin/sqlite`, `fermyon:spin/postgres`, `fermyon:spin/mysql`, in
 * jco's shape): same allow-lists, same stores. An interface whose host is absent answers every call
 * with that interface's error, as Spin does for a backend that is not configured; linking never
 * fails, because the SDKs import these modules even when an app calls none of them.
 */
import type { GuestMemory } from './guest-memory.js';
import { HTTP_ERRORS, METHODS, putResponse, readPairs, type Spin1Request, type Spin1Response } from './http-types.js';

/** The old ABI's import module names, in the order they are documented. */
export const SPIN1_IMPORT_MODULES = ['wasi-outbound-http', 'spin-config', 'key-value', 'outbound-redis', 'redis', 'sqlite', 'outbound-pg', 'outbound-mysql', 'llm'] as const;

/** One of {@link SPIN1_IMPORT_MODULES}. */
export type Spin1ImportModule = (typeof SPIN1_IMPORT_MODULES)[number];

/** What the adapters run over. */
export interface Spin1ImportContext {
  /** The instance's memory (available once instantiated; imports run only after that). */
  memory(): GuestMemory;
  /** A component-shaped import object by jco key (`fermyon:spin/http`), or undefined when the host has none. */
  host(key: string): Record<string, unknown> | undefined;
}

type CoreFunction = (...args: never[]) => number | bigint | void;

/** How a host call ended: its value, or the WIT `err` payload jco's convention throws. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

const NOT_PROVIDED = Symbol('not provided');

/**
 * Calls a host function in jco's convention: an `err` is thrown as `{ payload }` (or as a plain
 * non-Error value); a thrown `Error` is a host fault and traps the guest, as under jco.
 */
function invoke<T>(fn: unknown, args: unknown[]): Outcome<T> | typeof NOT_PROVIDED {
  if (typeof fn !== 'function') return NOT_PROVIDED;
  try {
    return { ok: true, value: (fn as (...a: unknown[]) => T)(...args) };
  } catch (err) {
    if (err instanceof Error && !('payload' in err)) throw err;
    const payload = typeof err === 'object' && err !== null && 'payload' in err ? (err as { payload: unknown }).payload : err;
    return { ok: false, error: payload };
  }
}

/** A `{ tag, val? }` variant or a bare enum string, as jco lifts either. */
function tagOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'tag' in value) return String((value as { tag: unknown }).tag);
  return '';
}
function valOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null && 'val' in value ? (value as { val: unknown }).val : undefined;
}

// --- generic result writers ------------------------------------------------------------------

/** `expected<T, E>` at `ret`: discriminant byte, then the payload at `payloadAt`. */
function writeResult<T>(m: GuestMemory, ret: number, outcome: Outcome<T>, payloadAt: number, ok: (at: number, value: T) => void, err: (at: number, error: unknown) => void): void {
  m.setU8(ret, outcome.ok ? 0 : 1);
  if (outcome.ok) ok(ret + payloadAt, outcome.value);
  else err(ret + payloadAt, outcome.error);
}

/** A variant whose cases carry nothing or a string, at `at`: tag byte, string at +4/+8 (align 4). */
function putStringVariant(m: GuestMemory, at: number, cases: readonly string[], error: unknown, fallback: { tag: string; text: string }): void {
  let tag = tagOf(error);
  let text = valOf(error);
  let index = cases.indexOf(tag);
  if (index === -1) {
    tag = fallback.tag;
    text = fallback.text;
    index = cases.indexOf(tag);
  }
  m.setU8(at, index);
  if (typeof text === 'string') {
    m.setSlice(at + 4, m.putString(text));
  }
}

function putStringList(m: GuestMemory, items: readonly string[]): [number, number] {
  return m.putList(items, 8, 4, (at, item) => {
    m.setSlice(at, m.putString(item));
  });
}

// --- wasi-outbound-http ----------------------------------------------------------------------

function outboundHttp(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  return {
    request: ((method: number, uriPtr: number, uriLen: number, hPtr: number, hLen: number, pPtr: number, pLen: number, hasBody: number, bPtr: number, bLen: number, ret: number): void => {
      const m = ctx.memory();
      const request: Spin1Request = {
        method: METHODS[method] ?? 'get',
        uri: m.string(uriPtr, uriLen),
        headers: readPairs(m, hPtr, hLen),
        params: readPairs(m, pPtr, pLen),
        body: hasBody === 0 ? undefined : m.bytes(bPtr, bLen),
      };
      if (METHODS[method] === undefined) {
        writeResult(m, ret, { ok: false, error: 'request-error' }, 4, () => undefined, (at) => m.setU8(at, HTTP_ERRORS.indexOf('request-error')));
        return;
      }
      const called = invoke<Spin1Response>(ctx.host('fermyon:spin/http')?.['sendRequest'], [request]);
      const outcome: Outcome<Spin1Response> = called === NOT_PROVIDED ? { ok: false, error: 'destination-not-allowed' } : called;
      writeResult(m, ret, outcome, 4, (at, response) => putResponse(m, at, response), (at, error) => {
        const index = HTTP_ERRORS.indexOf(tagOf(error) as (typeof HTTP_ERRORS)[number]);
        m.setU8(at, index === -1 ? HTTP_ERRORS.indexOf('runtime-error') : index);
      });
    }) as CoreFunction,
  };
}

// --- spin-config -------------------------------------------------------------------------------

const CONFIG_ERRORS = ['provider', 'invalid-key', 'invalid-schema', 'other'] as const;

function spinConfig(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  return {
    'get-config': ((keyPtr: number, keyLen: number, ret: number): void => {
      const m = ctx.memory();
      const key = m.string(keyPtr, keyLen);
      const called = invoke<string>(ctx.host('fermyon:spin/config')?.['getConfig'], [key]);
      const outcome: Outcome<string> = called === NOT_PROVIDED ? { ok: false, error: { tag: 'provider', val: 'variables are not available to this component' } } : called;
      writeResult(
        m,
        ret,
        outcome,
        4,
        (at, value) => {
          m.setSlice(at, m.putString(value));
        },
        (at, error) => putStringVariant(m, at, CONFIG_ERRORS, error, { tag: 'other', text: String(valOf(error) ?? tagOf(error)) }),
      );
    }) as CoreFunction,
  };
}

// --- key-value ---------------------------------------------------------------------------------

const KV_ERRORS = ['store-table-full', 'no-such-store', 'access-denied', 'invalid-store', 'no-such-key', 'io'] as const;

function keyValue(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  const call = <T>(name: string, args: unknown[]): Outcome<T> => {
    const called = invoke<T>(ctx.host('fermyon:spin/key-value')?.[name], args);
    return called === NOT_PROVIDED ? { ok: false, error: { tag: 'access-denied' } } : called;
  };
  const err = (m: GuestMemory) => (at: number, error: unknown) => putStringVariant(m, at, KV_ERRORS, error, { tag: 'io', text: String(valOf(error) ?? tagOf(error)) });
  return {
    open: ((namePtr: number, nameLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<number>('open', [m.string(namePtr, nameLen)]), 4, (at, store) => m.setU32(at, store), err(m));
    }) as CoreFunction,
    get: ((store: number, keyPtr: number, keyLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(
        m,
        ret,
        call<Uint8Array>('get', [store >>> 0, m.string(keyPtr, keyLen)]),
        4,
        (at, value) => {
          m.setSlice(at, m.putBytes(value));
        },
        err(m),
      );
    }) as CoreFunction,
    set: ((store: number, keyPtr: number, keyLen: number, valuePtr: number, valueLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<void>('set', [store >>> 0, m.string(keyPtr, keyLen), m.bytes(valuePtr, valueLen)]), 4, () => undefined, err(m));
    }) as CoreFunction,
    delete: ((store: number, keyPtr: number, keyLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<void>('delete', [store >>> 0, m.string(keyPtr, keyLen)]), 4, () => undefined, err(m));
    }) as CoreFunction,
    exists: ((store: number, keyPtr: number, keyLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<boolean>('exists', [store >>> 0, m.string(keyPtr, keyLen)]), 4, (at, value) => m.setU8(at, value ? 1 : 0), err(m));
    }) as CoreFunction,
    'get-keys': ((store: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(
        m,
        ret,
        call<string[]>('getKeys', [store >>> 0]),
        4,
        (at, keys) => {
          m.setSlice(at, putStringList(m, keys));
        },
        err(m),
      );
    }) as CoreFunction,
    close: ((store: number): void => {
      invoke(ctx.host('fermyon:spin/key-value')?.['close'], [store >>> 0]);
    }) as CoreFunction,
  };
}

// --- outbound-redis ----------------------------------------------------------------------------

type RedisParameter = { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
type RedisResult = { tag: 'nil' } | { tag: 'status'; val: string } | { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
const REDIS_RESULTS = ['nil', 'status', 'int64', 'binary'] as const;

function outboundRedis(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  const call = <T>(name: string, args: unknown[]): Outcome<T> => {
    const called = invoke<T>(ctx.host('fermyon:spin/redis')?.[name], args);
    return called === NOT_PROVIDED ? { ok: false, error: 'error' } : called;
  };
  // `error` is an enum { success, error }: one byte, right after the discriminant when the ok
  // side is unit, else at the payload offset.
  const errEnum = (m: GuestMemory) => (at: number) => m.setU8(at, 1);
  const unit = (name: string) =>
    ((aPtr: number, aLen: number, kPtr: number, kLen: number, vPtr: number, vLen: number, ret: number): void => {
      const m = ctx.memory();
      const outcome = call<void>(name, [m.string(aPtr, aLen), m.string(kPtr, kLen), m.bytes(vPtr, vLen)]);
      writeResult(m, ret, outcome, 1, () => undefined, errEnum(m));
    }) as CoreFunction;
  const count = (name: string, withValues: boolean) =>
    ((...args: number[]): void => {
      const m = ctx.memory();
      const [aPtr = 0, aLen = 0, kPtr = 0, kLen = 0] = args;
      const address = m.string(aPtr, aLen);
      const readStrings = (p: number, l: number): string[] => m.list(p, l, 8, (at) => m.stringAt(at));
      const callArgs = withValues ? [address, m.string(kPtr, kLen), readStrings(args[4] ?? 0, args[5] ?? 0)] : [address, readStrings(kPtr, kLen)];
      const ret = args[withValues ? 6 : 4] ?? 0;
      writeResult(m, ret, call<bigint | number>(name, callArgs), 8, (at, n) => m.setI64(at, BigInt(n)), errEnum(m));
    }) as CoreFunction;
  return {
    publish: unit('publish'),
    set: unit('set'),
    get: ((aPtr: number, aLen: number, kPtr: number, kLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(
        m,
        ret,
        call<Uint8Array>('get', [m.string(aPtr, aLen), m.string(kPtr, kLen)]),
        4,
        (at, value) => {
          m.setSlice(at, m.putBytes(value));
        },
        errEnum(m),
      );
    }) as CoreFunction,
    incr: ((aPtr: number, aLen: number, kPtr: number, kLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<bigint>('incr', [m.string(aPtr, aLen), m.string(kPtr, kLen)]), 8, (at, n) => m.setI64(at, BigInt(n)), errEnum(m));
    }) as CoreFunction,
    del: count('del', false),
    sadd: count('sadd', true),
    srem: count('srem', true),
    smembers: ((aPtr: number, aLen: number, kPtr: number, kLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(
        m,
        ret,
        call<string[]>('smembers', [m.string(aPtr, aLen), m.string(kPtr, kLen)]),
        4,
        (at, members) => {
          m.setSlice(at, putStringList(m, members));
        },
        errEnum(m),
      );
    }) as CoreFunction,
    execute: ((aPtr: number, aLen: number, cPtr: number, cLen: number, argPtr: number, argLen: number, ret: number): void => {
      const m = ctx.memory();
      const args = m.list<RedisParameter>(argPtr, argLen, 16, (at) => (m.u8(at) === 0 ? { tag: 'int64', val: m.i64(at + 8) } : { tag: 'binary', val: m.bytes(m.u32(at + 8), m.u32(at + 12)) }));
      writeResult(
        m,
        ret,
        call<RedisResult[]>('execute', [m.string(aPtr, aLen), m.string(cPtr, cLen), args]),
        4,
        (at, results) => {
          m.setSlice(at, m.putList(results, 16, 8, (el, result) => {
            m.setU8(el, Math.max(0, REDIS_RESULTS.indexOf(result.tag)));
            if (result.tag === 'int64') m.setI64(el + 8, result.val);
            else if (result.tag === 'status' || result.tag === 'binary') {
              m.setSlice(el + 8, result.tag === 'status' ? m.putString(result.val) : m.putBytes(result.val));
            }
          }));
        },
        errEnum(m),
      );
    }) as CoreFunction,
  };
}

// --- rdbms (outbound-pg, outbound-mysql) and sqlite values ----------------------------------------

const PARAMETER_TAGS = ['boolean', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'floating32', 'floating64', 'str', 'binary', 'db-null'] as const;
const DB_VALUE_TAGS = [...PARAMETER_TAGS, 'unsupported'] as const;
const DATA_TYPES = ['boolean', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'floating32', 'floating64', 'str', 'binary', 'other'] as const;
const DB_ERRORS = ['success', 'connection-failed', 'bad-parameter', 'query-failed', 'value-conversion-failed', 'other-error'] as const;

type Tagged = { tag: string; val?: unknown };

/** A `parameter-value` (16 bytes, align 8: tag, payload at 8). */
function readParameter(m: GuestMemory, at: number): Tagged {
  const tag = PARAMETER_TAGS[m.u8(at)];
  const p = at + 8;
  switch (tag) {
    case 'boolean':
      return { tag, val: m.u8(p) !== 0 };
    case 'int8':
      return { tag, val: (m.u8(p) << 24) >> 24 };
    case 'int16':
      return { tag, val: (m.u16(p) << 16) >> 16 };
    case 'int32':
      return { tag, val: m.u32(p) | 0 };
    case 'int64':
      return { tag, val: m.i64(p) };
    case 'uint8':
      return { tag, val: m.u8(p) };
    case 'uint16':
      return { tag, val: m.u16(p) };
    case 'uint32':
      return { tag, val: m.u32(p) };
    case 'uint64':
      return { tag, val: m.u64(p) };
    case 'floating32':
      return { tag, val: m.f32(p) };
    case 'floating64':
      return { tag, val: m.f64(p) };
    case 'str':
      return { tag, val: m.stringAt(p) };
    case 'binary':
      return { tag, val: m.bytesAt(p) };
    case 'db-null':
      return { tag };
    default:
      throw new RangeError(`guest passed an unknown parameter-value case ${m.u8(at)}`);
  }
}

/** A `db-value` into guest memory at `at` (16 bytes, align 8). */
function putDbValue(m: GuestMemory, at: number, value: Tagged): void {
  const index = DB_VALUE_TAGS.indexOf(value.tag as (typeof DB_VALUE_TAGS)[number]);
  m.setU8(at, index === -1 ? DB_VALUE_TAGS.indexOf('unsupported') : index);
  const p = at + 8;
  const v = value.val;
  switch (value.tag) {
    case 'boolean':
      m.setU8(p, v ? 1 : 0);
      break;
    case 'int8':
    case 'uint8':
      m.setU8(p, Number(v) & 0xff);
      break;
    case 'int16':
    case 'uint16':
      m.setU16(p, Number(v) & 0xffff);
      break;
    case 'int32':
    case 'uint32':
      m.setU32(p, Number(v));
      break;
    case 'int64':
      m.setI64(p, BigInt(v as bigint));
      break;
    case 'uint64':
      m.setU64(p, BigInt(v as bigint));
      break;
    case 'floating32':
      m.setF32(p, Number(v));
      break;
    case 'floating64':
      m.setF64(p, Number(v));
      break;
    case 'str':
    case 'binary': {
      m.setSlice(p, value.tag === 'str' ? m.putString(String(v)) : m.putBytes(v as Uint8Array));
      break;
    }
  }
}

interface RowSet {
  columns: Array<{ name: string; dataType: string }>;
  rows: Tagged[][];
}

function putRowSet(m: GuestMemory, at: number, rows: RowSet): void {
  m.setSlice(at, m.putList(rows.columns, 12, 4, (el, column) => {
    m.setSlice(el, m.putString(column.name));
    const type = DATA_TYPES.indexOf(column.dataType as (typeof DATA_TYPES)[number]);
    m.setU8(el + 8, type === -1 ? DATA_TYPES.indexOf('other') : type);
  }));
  m.setSlice(at + 8, m.putList(rows.rows, 8, 4, (el, row) => {
    m.setSlice(el, m.putList(row, 16, 8, putDbValue.bind(null, m)));
  }));
}

function rdbms(ctx: Spin1ImportContext, key: 'fermyon:spin/postgres' | 'fermyon:spin/mysql', name: string): Record<string, CoreFunction> {
  const call = <T>(fn: string, args: unknown[]): Outcome<T> => {
    const called = invoke<T>(ctx.host(key)?.[fn], args);
    return called === NOT_PROVIDED ? { ok: false, error: { tag: 'connection-failed', val: `${name} is not available to this component` } } : called;
  };
  const args = (m: GuestMemory, aPtr: number, aLen: number, sPtr: number, sLen: number, pPtr: number, pLen: number): unknown[] => [
    m.string(aPtr, aLen),
    m.string(sPtr, sLen),
    m.list(pPtr, pLen, 16, (at) => readParameter(m, at)),
  ];
  const err = (m: GuestMemory) => (at: number, error: unknown) => putStringVariant(m, at, DB_ERRORS, error, { tag: 'other-error', text: String(valOf(error) ?? tagOf(error)) });
  return {
    query: ((aPtr: number, aLen: number, sPtr: number, sLen: number, pPtr: number, pLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<RowSet>('query', args(m, aPtr, aLen, sPtr, sLen, pPtr, pLen)), 4, (at, rows) => putRowSet(m, at, rows), err(m));
    }) as CoreFunction,
    execute: ((aPtr: number, aLen: number, sPtr: number, sLen: number, pPtr: number, pLen: number, ret: number): void => {
      const m = ctx.memory();
      const outcome = call<bigint | undefined>('execute', args(m, aPtr, aLen, sPtr, sLen, pPtr, pLen));
      // PostgreSQL answers `expected<u64, pg-error>` (payload at 8); MySQL `expected<unit, mysql-error>` (at 4).
      if (key === 'fermyon:spin/postgres') writeResult(m, ret, outcome, 8, (at, n) => m.setU64(at, BigInt(n ?? 0n)), err(m));
      else writeResult(m, ret, outcome, 4, () => undefined, err(m));
    }) as CoreFunction,
  };
}

const SQLITE_VALUE_TAGS = ['integer', 'real', 'text', 'blob', 'null'] as const;
const SQLITE_ERRORS = ['no-such-database', 'access-denied', 'invalid-connection', 'database-full', 'io'] as const;

function sqlite(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  const call = <T>(fn: string, args: unknown[]): Outcome<T> => {
    const called = invoke<T>(ctx.host('fermyon:spin/sqlite')?.[fn], args);
    return called === NOT_PROVIDED ? { ok: false, error: { tag: 'access-denied' } } : called;
  };
  const err = (m: GuestMemory) => (at: number, error: unknown) => putStringVariant(m, at, SQLITE_ERRORS, error, { tag: 'io', text: String(valOf(error) ?? tagOf(error)) });
  const readValue = (m: GuestMemory, at: number): Tagged => {
    const tag = SQLITE_VALUE_TAGS[m.u8(at)];
    const p = at + 8;
    switch (tag) {
      case 'integer':
        return { tag, val: m.i64(p) };
      case 'real':
        return { tag, val: m.f64(p) };
      case 'text':
        return { tag, val: m.stringAt(p) };
      case 'blob':
        return { tag, val: m.bytesAt(p) };
      case 'null':
        return { tag };
      default:
        throw new RangeError(`guest passed an unknown sqlite value case ${m.u8(at)}`);
    }
  };
  const putValue = (m: GuestMemory, at: number, value: Tagged): void => {
    m.setU8(at, Math.max(0, SQLITE_VALUE_TAGS.indexOf(value.tag as (typeof SQLITE_VALUE_TAGS)[number])));
    const p = at + 8;
    if (value.tag === 'integer') m.setI64(p, BigInt(value.val as bigint));
    else if (value.tag === 'real') m.setF64(p, Number(value.val));
    else if (value.tag === 'text' || value.tag === 'blob') {
      m.setSlice(p, value.tag === 'text' ? m.putString(String(value.val)) : m.putBytes(value.val as Uint8Array));
    }
  };
  return {
    open: ((namePtr: number, nameLen: number, ret: number): void => {
      const m = ctx.memory();
      writeResult(m, ret, call<number>('open', [m.string(namePtr, nameLen)]), 4, (at, conn) => m.setU32(at, conn), err(m));
    }) as CoreFunction,
    execute: ((conn: number, sPtr: number, sLen: number, pPtr: number, pLen: number, ret: number): void => {
      const m = ctx.memory();
      const params = m.list(pPtr, pLen, 16, (at) => readValue(m, at));
      writeResult(
        m,
        ret,
        call<{ columns: string[]; rows: Array<{ values: Tagged[] }> }>('execute', [conn >>> 0, m.string(sPtr, sLen), params]),
        4,
        (at, result) => {
          m.setSlice(at, putStringList(m, result.columns));
          m.setSlice(at + 8, m.putList(result.rows, 8, 4, (el, row) => {
            m.setSlice(el, m.putList(row.values, 16, 8, (vat, value) => putValue(m, vat, value)));
          }));
        },
        err(m),
      );
    }) as CoreFunction,
    close: ((conn: number): void => {
      invoke(ctx.host('fermyon:spin/sqlite')?.['close'], [conn >>> 0]);
    }) as CoreFunction,
  };
}

// --- llm -------------------------------------------------------------------------------------

const LLM_ERRORS = ['model-not-supported', 'runtime-error', 'invalid-input'] as const;

function llm(ctx: Spin1ImportContext): Record<string, CoreFunction> {
  // No LLM backend exists in this host (the runtime config refuses [llm_compute]).
  const refuse = (ret: number): void => {
    const m = ctx.memory();
    writeResult(m, ret, { ok: false, error: { tag: 'runtime-error', val: 'LLM inferencing is not supported by this host' } }, 4, () => undefined, (at, error) =>
      putStringVariant(m, at, LLM_ERRORS, error, { tag: 'runtime-error', text: '' }),
    );
  };
  return {
    // model, prompt, option<inferencing-params> (flag + six fields), return pointer
    infer: ((...args: number[]): void => refuse(args[args.length - 1] ?? 0)) as CoreFunction,
    // model, list<string>, return pointer
    'generate-embeddings': ((...args: number[]): void => refuse(args[args.length - 1] ?? 0)) as CoreFunction,
  };
}

/**
 * The import object of one old-ABI module name, over `ctx`; undefined for a name this host does
 * not know (the caller then refuses the module, naming it).
 */
export function spin1Imports(module: string, ctx: Spin1ImportContext): Record<string, CoreFunction> | undefined {
  switch (module) {
    case 'wasi-outbound-http':
      return outboundHttp(ctx);
    case 'spin-config':
      return spinConfig(ctx);
    case 'key-value':
      return keyValue(ctx);
    case 'outbound-redis':
    case 'redis':
      return outboundRedis(ctx);
    case 'sqlite':
      return sqlite(ctx);
    case 'outbound-pg':
      return rdbms(ctx, 'fermyon:spin/postgres', 'PostgreSQL');
    case 'outbound-mysql':
      return rdbms(ctx, 'fermyon:spin/mysql', 'MySQL');
    case 'llm':
      return llm(ctx);
    default:
      return undefined;
  }
}

