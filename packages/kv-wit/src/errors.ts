/**
 * Errors thrown by `@spinel/kv-wit`. Callers switch on `err.code`; the codes are listed in
 * the package README and are public contract. The host bindings turn them into the WIT
 * error variants a guest sees (`other(message)` for most of them).
 */

/** Every stable code this package throws. */
export type KvErrorCode =
  | 'KV_KEY_TOO_LARGE'
  | 'KV_VALUE_TOO_LARGE'
  | 'KV_INVALID_ARGUMENT'
  | 'KV_INVALID_CURSOR'
  | 'KV_NOT_A_COUNTER'
  | 'KV_COUNTER_OVERFLOW'
  | 'KV_STORE_CLOSED'
  | 'KV_BACKEND'
  | 'KV_CONFIG_INVALID'
  | 'KV_CONFIG_UNKNOWN_TYPE'
  | 'KV_UNKNOWN_LABEL';

/** Base class of every error this package throws. */
export class KvError extends Error {
  readonly code: KvErrorCode;

  constructor(code: KvErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvError';
    this.code = code;
  }
}

/** A key is longer (in UTF-8 bytes) than the configured limit. */
export class KvKeyTooLargeError extends KvError {
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(
      'KV_KEY_TOO_LARGE',
      `key is ${size} bytes, over the limit of ${limit} bytes; use a shorter key or raise maxKeyBytes`,
    );
    this.name = 'KvKeyTooLargeError';
    this.size = size;
    this.limit = limit;
  }
}

/** A value is larger than the configured limit. */
export class KvValueTooLargeError extends KvError {
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(
      'KV_VALUE_TOO_LARGE',
      `value is ${size} bytes, over the limit of ${limit} bytes; store a smaller value or raise maxValueBytes`,
    );
    this.name = 'KvValueTooLargeError';
    this.size = size;
    this.limit = limit;
  }
}

/** An argument has the wrong type or shape (a key that is not a string, a negative limit…). */
export class KvInvalidArgumentError extends KvError {
  constructor(message: string) {
    super('KV_INVALID_ARGUMENT', message);
    this.name = 'KvInvalidArgumentError';
  }
}

/** A list cursor was not produced by this store for this listing. */
export class KvInvalidCursorError extends KvError {
  constructor(reason: string) {
    super('KV_INVALID_CURSOR', `invalid list cursor: ${reason}; pass back the cursor of the previous page unchanged, or none to start over`);
    this.name = 'KvInvalidCursorError';
  }
}

/** `increment` found a value that is not an 8-byte little-endian counter. */
export class KvNotACounterError extends KvError {
  readonly key: string;

  constructor(key: string, size: number) {
    super(
      'KV_NOT_A_COUNTER',
      `value of key ${JSON.stringify(key)} is ${size} bytes, not an 8-byte little-endian counter; delete it or use another key for increment`,
    );
    this.name = 'KvNotACounterError';
    this.key = key;
  }
}

/** `increment` would leave the signed 64-bit range; the counter is unchanged. */
export class KvCounterOverflowError extends KvError {
  readonly key: string;

  constructor(key: string) {
    super('KV_COUNTER_OVERFLOW', `incrementing key ${JSON.stringify(key)} would overflow a signed 64-bit integer; the counter is unchanged`);
    this.name = 'KvCounterOverflowError';
    this.key = key;
  }
}

/** The store was closed before the call. */
export class KvStoreClosedError extends KvError {
  constructor(what: string) {
    super('KV_STORE_CLOSED', `${what} is closed; open the store again`);
    this.name = 'KvStoreClosedError';
  }
}

/** The backend (SQLite, Redis) failed; `cause` holds its error. */
export class KvBackendError extends KvError {
  constructor(message: string, cause: unknown) {
    super('KV_BACKEND', message, { cause });
    this.name = 'KvBackendError';
  }
}

/** A `[key_value_store.<label>]` table is malformed. */
export class KvConfigInvalidError extends KvError {
  readonly label: string | undefined;

  constructor(label: string | undefined, reason: string, cause?: unknown) {
    super(
      'KV_CONFIG_INVALID',
      label === undefined
        ? `invalid key_value_store runtime config: ${reason}`
        : `could not configure key-value store with label '${label}': ${reason}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'KvConfigInvalidError';
    this.label = label;
  }
}

/** A `[key_value_store.<label>]` names a `type` this host does not provide. */
export class KvConfigUnknownTypeError extends KvError {
  readonly label: string;
  readonly type: string;

  constructor(label: string, type: string) {
    super(
      'KV_CONFIG_UNKNOWN_TYPE',
      `could not configure key-value store with label '${label}': the store type '${type}' was not registered with the config resolver; use type = "spin" (SQLite) or type = "redis"`,
    );
    this.name = 'KvConfigUnknownTypeError';
    this.label = label;
    this.type = type;
  }
}

/** A store label is used but not defined (only `default` is defined without runtime config). */
export class KvUnknownLabelError extends KvError {
  readonly label: string;

  constructor(label: string, defined: readonly string[], componentId?: string) {
    const fix = `define it as [key_value_store.${label}] in the runtime config file (defined: ${defined.map((l) => JSON.stringify(l)).join(', ') || 'none'})`;
    super(
      'KV_UNKNOWN_LABEL',
      componentId === undefined
        ? `no key-value store with label "${label}"; ${fix}`
        : `unknown key_value_stores label "${label}" for component "${componentId}"; ${fix}`,
    );
    this.name = 'KvUnknownLabelError';
    this.label = label;
  }
}

/** Removes user:password from a URL so it can appear in a message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '' || parsed.username !== '') {
      parsed.username = parsed.username === '' ? '' : '***';
      parsed.password = parsed.password === '' ? '' : '***';
    }
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}
