// WIT of Spin's outbound database and broker interfaces, written out for guests built
// with componentize-js. Type by type as Spin defines them (wit/deps/spin@2.0.0, spin@unversioned,
// spin-postgres@3.0.0 and @4.x in spinframework/spin), so a guest imports exactly what it would
// import for Spin.

const RDBMS_TYPES = (withError: boolean): string => `interface rdbms-types {
  ${withError ? 'variant error { connection-failed(string), bad-parameter(string), query-failed(string), value-conversion-failed(string), other(string) }' : ''}
  enum db-data-type { boolean, int8, int16, int32, int64, uint8, uint16, uint32, uint64, floating32, floating64, str, binary, other }
  variant db-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), uint8(u8), uint16(u16), uint32(u32), uint64(u64), floating32(f32), floating64(f64), str(string), binary(list<u8>), db-null, unsupported }
  variant parameter-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), uint8(u8), uint16(u16), uint32(u32), uint64(u64), floating32(f32), floating64(f64), str(string), binary(list<u8>), db-null }
  record column { name: string, data-type: db-data-type }
  type row = list<db-value>;
  record row-set { columns: list<column>, rows: list<row> }
}
`;

const REDIS_VALUES = `type payload = list<u8>;
  variant redis-parameter { int64(s64), binary(payload) }
  variant redis-result { nil, status(string), int64(s64), binary(payload) }`;

/** `fermyon:spin@2.0.0`: redis, postgres, mysql, mqtt, rdbms-types. */
export const SPIN_V2_WIT = `package fermyon:spin@2.0.0;

interface redis {
  variant error { invalid-address, too-many-connections, type-error, other(string) }
  resource connection {
    open: static func(address: string) -> result<connection, error>;
    publish: func(channel: string, payload: payload) -> result<_, error>;
    get: func(key: string) -> result<option<payload>, error>;
    set: func(key: string, value: payload) -> result<_, error>;
    incr: func(key: string) -> result<s64, error>;
    del: func(keys: list<string>) -> result<u32, error>;
    sadd: func(key: string, values: list<string>) -> result<u32, error>;
    smembers: func(key: string) -> result<list<string>, error>;
    srem: func(key: string, values: list<string>) -> result<u32, error>;
    execute: func(command: string, arguments: list<redis-parameter>) -> result<list<redis-result>, error>;
  }
  ${REDIS_VALUES}
}

${RDBMS_TYPES(true)}
interface postgres {
  use rdbms-types.{parameter-value, row-set, error};
  resource connection {
    open: static func(address: string) -> result<connection, error>;
    query: func(statement: string, params: list<parameter-value>) -> result<row-set, error>;
    execute: func(statement: string, params: list<parameter-value>) -> result<u64, error>;
  }
}

interface mysql {
  use rdbms-types.{parameter-value, row-set, error};
  resource connection {
    open: static func(address: string) -> result<connection, error>;
    query: func(statement: string, params: list<parameter-value>) -> result<row-set, error>;
    execute: func(statement: string, params: list<parameter-value>) -> result<_, error>;
  }
}

interface mqtt {
  variant error { invalid-address, too-many-connections, connection-failed(string), other(string) }
  enum qos { at-most-once, at-least-once, exactly-once }
  resource connection {
    open: static func(address: string, username: string, password: string, keep-alive-interval-in-secs: u64) -> result<connection, error>;
    publish: func(topic: string, payload: payload, qos: qos) -> result<_, error>;
  }
  type payload = list<u8>;
}
`;

/** Spin 1's unversioned `fermyon:spin`: redis, redis-types, postgres, mysql, rdbms-types. */
export const SPIN_V1_WIT = `package fermyon:spin;

interface redis-types {
  enum error { success, error }
  ${REDIS_VALUES}
}

interface redis {
  use redis-types.{payload, redis-parameter, redis-result, error};
  publish: func(address: string, channel: string, payload: payload) -> result<_, error>;
  get: func(address: string, key: string) -> result<payload, error>;
  set: func(address: string, key: string, value: payload) -> result<_, error>;
  incr: func(address: string, key: string) -> result<s64, error>;
  del: func(address: string, keys: list<string>) -> result<s64, error>;
  sadd: func(address: string, key: string, values: list<string>) -> result<s64, error>;
  smembers: func(address: string, key: string) -> result<list<string>, error>;
  srem: func(address: string, key: string, values: list<string>) -> result<s64, error>;
  execute: func(address: string, command: string, arguments: list<redis-parameter>) -> result<list<redis-result>, error>;
}

${RDBMS_TYPES(false)}
interface postgres {
  use rdbms-types.{parameter-value, row-set};
  variant pg-error { success, connection-failed(string), bad-parameter(string), query-failed(string), value-conversion-failed(string), other-error(string) }
  query: func(address: string, statement: string, params: list<parameter-value>) -> result<row-set, pg-error>;
  execute: func(address: string, statement: string, params: list<parameter-value>) -> result<u64, pg-error>;
}

interface mysql {
  use rdbms-types.{parameter-value, row-set};
  variant mysql-error { success, connection-failed(string), bad-parameter(string), query-failed(string), value-conversion-failed(string), other-error(string) }
  query: func(address: string, statement: string, params: list<parameter-value>) -> result<row-set, mysql-error>;
  execute: func(address: string, statement: string, params: list<parameter-value>) -> result<_, mysql-error>;
}
`;

/** `spin:postgres@3.0.0`. */
export const SPIN_POSTGRES_3_WIT = `package spin:postgres@3.0.0;

interface postgres {
  variant error { connection-failed(string), bad-parameter(string), query-failed(string), value-conversion-failed(string), other(string) }
  enum db-data-type { boolean, int8, int16, int32, int64, floating32, floating64, str, binary, date, time, datetime, timestamp, other }
  variant db-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), floating32(f32), floating64(f64), str(string), binary(list<u8>), date(tuple<s32, u8, u8>), time(tuple<u8, u8, u8, u32>), datetime(tuple<s32, u8, u8, u8, u8, u8, u32>), timestamp(s64), db-null, unsupported }
  variant parameter-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), floating32(f32), floating64(f64), str(string), binary(list<u8>), date(tuple<s32, u8, u8>), time(tuple<u8, u8, u8, u32>), datetime(tuple<s32, u8, u8, u8, u8, u8, u32>), timestamp(s64), db-null }
  record column { name: string, data-type: db-data-type }
  type row = list<db-value>;
  record row-set { columns: list<column>, rows: list<row> }
  resource connection {
    open: static func(address: string) -> result<connection, error>;
    query: func(statement: string, params: list<parameter-value>) -> result<row-set, error>;
    execute: func(statement: string, params: list<parameter-value>) -> result<u64, error>;
  }
}
`;

const PG4_VALUES = `date(tuple<s32, u8, u8>), time(tuple<u8, u8, u8, u32>), datetime(tuple<s32, u8, u8, u8, u8, u8, u32>), timestamp(s64), uuid(string), jsonb(list<u8>), decimal(string),
    range-int32(tuple<option<tuple<s32, range-bound-kind>>, option<tuple<s32, range-bound-kind>>>),
    range-int64(tuple<option<tuple<s64, range-bound-kind>>, option<tuple<s64, range-bound-kind>>>),
    range-decimal(tuple<option<tuple<string, range-bound-kind>>, option<tuple<string, range-bound-kind>>>),
    array-int32(list<option<s32>>), array-int64(list<option<s64>>), array-decimal(list<option<string>>), array-str(list<option<string>>), interval(interval)`;

/** `spin:postgres@4.0.0`, or `@4.1.0` with its `connection-builder`. */
export function spinPostgres4Wit(minor: 0 | 1): string {
  return `package spin:postgres@4.${minor}.0;

interface postgres {
  variant error { connection-failed(string), bad-parameter(string), query-failed(query-error), value-conversion-failed(string), other(string) }
  variant query-error { text(string), db-error(db-error) }
  record db-error { as-text: string, severity: string, code: string, message: string, detail: option<string>, extras: list<tuple<string, string>> }
  variant db-data-type { boolean, int8, int16, int32, int64, floating32, floating64, str, binary, date, time, datetime, timestamp, uuid, jsonb, decimal, range-int32, range-int64, range-decimal, array-int32, array-int64, array-decimal, array-str, interval, other(string) }
  variant db-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), floating32(f32), floating64(f64), str(string), binary(list<u8>),
    ${PG4_VALUES}, db-null, unsupported(list<u8>) }
  variant parameter-value { boolean(bool), int8(s8), int16(s16), int32(s32), int64(s64), floating32(f32), floating64(f64), str(string), binary(list<u8>),
    ${PG4_VALUES}, db-null }
  record interval { micros: s64, days: s32, months: s32 }
  record column { name: string, data-type: db-data-type }
  type row = list<db-value>;
  record row-set { columns: list<column>, rows: list<row> }
  enum range-bound-kind { inclusive, exclusive }
  resource connection {
    open: static func(address: string) -> result<connection, error>;
    query: func(statement: string, params: list<parameter-value>) -> result<row-set, error>;
    execute: func(statement: string, params: list<parameter-value>) -> result<u64, error>;
  }
${minor === 1 ? `  resource connection-builder {
    constructor(address: string);
    set-ca-root: func(certificate: string) -> result<_, error>;
    build: func() -> result<connection, error>;
  }
` : ''}}
`;
}
