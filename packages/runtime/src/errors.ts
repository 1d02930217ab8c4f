/**
 * Every error @spinel/runtime throws: one root class, {@link RuntimeError}, with one code union,
 * {@link RuntimeErrorCode}. Callers switch on `code`; the codes are listed in the package README
 * (a test keeps the two in sync) and are public contract. The subclasses group codes by where
 * they arise (loading and running guests, the HTTP trigger, the capabilities).
 */

/** Stable codes of the engine's errors (loading components, running guests). */
export type ExecutorErrorCode =
  | 'RUNTIME_TIMEOUT'
  | 'RUNTIME_GUEST_TRAP'
  | 'RUNTIME_NO_RESPONSE'
  | 'RUNTIME_ABORTED'
  | 'RUNTIME_CLOSED'
  | 'RUNTIME_WORKER_FAILED'
  | 'RUNTIME_UNKNOWN_COMPONENT'
  | 'RUNTIME_INVALID_WASM'
  | 'RUNTIME_UNSUPPORTED_IMPORTS'
  | 'RUNTIME_NOT_A_HANDLER'
  | 'RUNTIME_COMPONENT_SOURCE'
  | 'RUNTIME_COMPONENT_INTEGRITY'
  | 'RUNTIME_PREPARE_FAILED'
  | 'RUNTIME_MEMORY_LIMIT'
  | 'RUNTIME_FILES_MOUNT'
  | 'RUNTIME_MULTIPLE_HANDLERS'
  | 'RUNTIME_ASYNC_UNSUPPORTED'
  | 'RUNTIME_HANDLER_ERROR'
  | 'RUNTIME_WAGI_UNAVAILABLE'
  | 'RUNTIME_QUEUE_TIMEOUT'
  | DependencyErrorCode;

/** Codes of composing a component with its dependencies (`[component.<id>.dependencies]`, middleware). */
export type DependencyErrorCode =
  | 'RUNTIME_DEPENDENCY_UNMATCHED'
  | 'RUNTIME_DEPENDENCY_CONFLICT'
  | 'RUNTIME_DEPENDENCY_MISSING_EXPORT'
  | 'RUNTIME_DEPENDENCY_CYCLE'
  | 'RUNTIME_DEPENDENCY_SOURCE'
  | 'RUNTIME_DEPENDENCY_INVALID'
  | 'RUNTIME_MIDDLEWARE_INVALID';

/** Every code @spinel/runtime throws. */
export type RuntimeErrorCode =
  | ExecutorErrorCode
  | HttpTriggerErrorCode
  | RedisTriggerErrorCode
  | CapabilityErrorCode
  | RuntimeConfigErrorCode
  | SqliteConfigErrorCode
  | 'RUNTIME_VARIABLE_PROVIDER'
  | 'RUNTIME_CLIENT_TLS';

/** The root of every error @spinel/runtime throws: a stable `code`, a message that says what to do next, `cause` chained. */
export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
  }
}

/** Errors of loading components and running guests; `componentId` names the guest when one is involved. */
export class ExecutorError extends RuntimeError {
  declare readonly code: ExecutorErrorCode;
  readonly componentId: string | undefined;
  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown; componentId?: string }) {
    super(code, message, options);
    this.name = 'ExecutorError';
    this.componentId = options?.componentId;
  }
}

/** A component could not be loaded at start (bad binary, unsupported imports, no handler export, unreadable source). */
export class ComponentLoadError extends ExecutorError {
  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown; componentId?: string }) {
    super(code, message, options);
    this.name = 'ComponentLoadError';
  }
}

/** A guest failed while handling one request (trap, deadline, no response); only that request is affected. */
export class GuestFaultError extends ExecutorError {
  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown; componentId?: string }) {
    super(code, message, options);
    this.name = 'GuestFaultError';
  }
}

/**
 * A component's dependencies (or middleware) cannot be composed with it; `dependency` names the
 * dependency, `importName` the import involved, `source` where the dependency came from.
 */
export class DependencyError extends ComponentLoadError {
  declare readonly code: DependencyErrorCode;
  readonly dependency: string | undefined;
  readonly importName: string | undefined;
  readonly source: string | undefined;
  constructor(
    code: DependencyErrorCode,
    message: string,
    options: { cause?: unknown; componentId: string; dependency?: string; importName?: string; source?: string },
  ) {
    super(code, message, options);
    this.name = 'DependencyError';
    this.dependency = options.dependency;
    this.importName = options.importName;
    this.source = options.source;
  }
}

/** Codes thrown by the HTTP trigger, `serve` and WAGI. */
export type HttpTriggerErrorCode =
  | 'RUNTIME_HTTP_INVALID_ROUTE'
  | 'RUNTIME_HTTP_INVALID_TRIGGER'
  | 'RUNTIME_HTTP_ADDRESS_IN_USE'
  | 'RUNTIME_HTTP_LISTEN_FAILED'
  | 'RUNTIME_HTTP_INVALID_LISTEN'
  | 'RUNTIME_HTTP_TLS'
  | 'RUNTIME_WAGI_INVALID_MODULE';

/** Errors of the HTTP trigger and WAGI: a stable `code`, a message saying what to do next. */
export class HttpTriggerError extends RuntimeError {
  declare readonly code: HttpTriggerErrorCode;
  constructor(code: HttpTriggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'HttpTriggerError';
  }
}

/** A route pattern or trigger configuration that cannot be served. */
export class RouteError extends HttpTriggerError {
  constructor(code: 'RUNTIME_HTTP_INVALID_ROUTE' | 'RUNTIME_HTTP_INVALID_TRIGGER', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RouteError';
  }
}

/** The server could not start listening. */
export class ListenError extends HttpTriggerError {
  constructor(
    code: 'RUNTIME_HTTP_ADDRESS_IN_USE' | 'RUNTIME_HTTP_LISTEN_FAILED' | 'RUNTIME_HTTP_INVALID_LISTEN' | 'RUNTIME_HTTP_TLS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ListenError';
  }
}

/** A WAGI module that cannot be run (not a WASI command, or imports we do not provide). */
export class WagiError extends HttpTriggerError {
  constructor(code: 'RUNTIME_WAGI_INVALID_MODULE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'WagiError';
  }
}

/** Stable codes of the Redis trigger's errors. */
export type RedisTriggerErrorCode =
  | 'RUNTIME_REDIS_INVALID_TRIGGER'
  | 'RUNTIME_REDIS_CONNECT';

/** The Redis trigger cannot start: a trigger that cannot be served, or a server that cannot be reached. */
export class RedisTriggerError extends RuntimeError {
  declare readonly code: RedisTriggerErrorCode;
  constructor(code: RedisTriggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RedisTriggerError';
  }
}

/** Stable codes of the capability errors. */
export type CapabilityErrorCode =
  | 'RUNTIME_VARIABLE_REQUIRED'
  | 'RUNTIME_VARIABLE_INVALID'
  | 'RUNTIME_VARIABLE_UNDEFINED'
  | 'RUNTIME_KV_UNKNOWN_LABEL'
  | 'RUNTIME_KV_INVALID_SEED'
  | 'RUNTIME_OUTBOUND_CONFIG'
  | 'RUNTIME_OUTBOUND_DENIED'
  | 'RUNTIME_OUTBOUND_FAILED'
  | 'RUNTIME_BRIDGE_CLOSED'
  | 'RUNTIME_BRIDGE_CALL_FAILED'
  | 'RUNTIME_CAPABILITY_CONFLICT';

/** Errors of the guest capabilities (outbound HTTP, key-value, variables, the blocking channel). */
export class CapabilityError extends RuntimeError {
  declare readonly code: CapabilityErrorCode;
  constructor(code: CapabilityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CapabilityError';
  }
}

/** A variable could not be resolved at start (required without a value, bad `--variable`, bad template). */
export class VariableError extends CapabilityError {
  /** The variable concerned, when one is. */
  readonly variable: string | undefined;
  constructor(
    code: 'RUNTIME_VARIABLE_REQUIRED' | 'RUNTIME_VARIABLE_INVALID' | 'RUNTIME_VARIABLE_UNDEFINED',
    message: string,
    options?: { cause?: unknown; variable?: string },
  ) {
    super(code, message, options);
    this.name = 'VariableError';
    this.variable = options?.variable;
  }
}

/** The key-value configuration of the app cannot be served (unknown label, bad `--key-value`). */
export class KeyValueConfigError extends CapabilityError {
  constructor(code: 'RUNTIME_KV_UNKNOWN_LABEL' | 'RUNTIME_KV_INVALID_SEED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'KeyValueConfigError';
  }
}

/** Runtime config `[outbound_networking]` that cannot be applied. */
export class OutboundConfigError extends CapabilityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_OUTBOUND_CONFIG', message, options);
    this.name = 'OutboundConfigError';
  }
}

/** A blocking bridge call failed: the serving side is gone, or its handler threw. */
export class BridgeError extends CapabilityError {
  /** The `code` of the error the serving side's handler threw, if it had one. */
  readonly remoteCode: string | undefined;
  constructor(code: 'RUNTIME_BRIDGE_CLOSED' | 'RUNTIME_BRIDGE_CALL_FAILED', message: string, options?: { cause?: unknown; remoteCode?: string }) {
    super(code, message, options);
    this.name = 'BridgeError';
    this.remoteCode = options?.remoteCode;
  }
}

/** wasi:http `error-code` as jco lifts it: a tag and, for some tags, a payload. */
export interface WasiHttpErrorCode {
  tag: string;
  val?: unknown;
}

/** fermyon:spin/http `http-error` values. */
export type SpinHttpError = 'destination-not-allowed' | 'invalid-url' | 'request-error' | 'runtime-error' | 'too-many-requests';

/**
 * An outbound HTTP request was refused by policy (`RUNTIME_OUTBOUND_DENIED`) or failed
 * (`RUNTIME_OUTBOUND_FAILED`); `errorCode` is what the guest receives.
 */
export class OutboundHttpError extends CapabilityError {
  readonly errorCode: WasiHttpErrorCode;
  readonly spinError: SpinHttpError;
  constructor(
    code: 'RUNTIME_OUTBOUND_DENIED' | 'RUNTIME_OUTBOUND_FAILED',
    message: string,
    errorCode: WasiHttpErrorCode,
    spinError: SpinHttpError,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'OutboundHttpError';
    this.errorCode = errorCode;
    this.spinError = spinError;
  }
}

/** Stable codes of runtime-config errors. */
export type RuntimeConfigErrorCode =
  /** The file cannot be read, or is not TOML. */
  | 'RUNTIME_CONFIG_READ'
  /** A key the runtime config does not have (top level or inside a known section). */
  | 'RUNTIME_CONFIG_UNKNOWN_KEY'
  /** A value of the wrong type, out of range, malformed, or a required key missing. */
  | 'RUNTIME_CONFIG_INVALID'
  /** A section or type Spin has and Spinel does not provide (libsql, azure_key_vault, llm_compute…). */
  | 'RUNTIME_CONFIG_UNSUPPORTED';

/** One problem found in a runtime-config file, with where it is. Lines and columns are 1-based. */
export interface RuntimeConfigProblem {
  readonly code: Exclude<RuntimeConfigErrorCode, 'RUNTIME_CONFIG_READ'>;
  readonly message: string;
  /** Dotted path of the key, e.g. `outbound_http.max_connections` or `variables_provider[1].type`. */
  readonly keyPath: string;
  readonly line?: number;
  readonly column?: number;
  /** The source line with a caret under the problem; string values are hidden unless the problem is about that value. */
  readonly excerpt?: string;
}

/**
 * A runtime-config file Spinel refuses to start with. `code` is the first problem's code;
 * `problems` lists every problem found, each with its line and column.
 */
export class RuntimeConfigError extends RuntimeError {
  declare readonly code: RuntimeConfigErrorCode;
  /** The file, when the text came from one. */
  readonly file: string | undefined;
  readonly problems: readonly RuntimeConfigProblem[];
  constructor(code: RuntimeConfigErrorCode, message: string, options: { file?: string | undefined; problems?: readonly RuntimeConfigProblem[]; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'RuntimeConfigError';
    this.file = options.file;
    this.problems = options.problems ?? [];
  }
}

/** Stable codes of the SQLite set-up errors. */
export type SqliteConfigErrorCode =
  /** A component lists a `sqlite_databases` label that is neither `default` nor in the runtime config. */
  | 'RUNTIME_SQLITE_UNKNOWN_DATABASE'
  /** A `--sqlite` statement or file failed (or names an unknown database); the start stops. */
  | 'RUNTIME_SQLITE_STATEMENT'
  /** A statement run from outside a guest (`spinel sqlite`) failed. */
  | 'RUNTIME_SQLITE_QUERY';

/** The app's SQLite databases cannot be served as configured. */
export class SqliteConfigError extends RuntimeError {
  declare readonly code: SqliteConfigErrorCode;
  constructor(code: SqliteConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SqliteConfigError';
  }
}

/** A runtime-config variables provider could not be asked (unreachable Vault, refused token, unreadable dotenv file). Code `RUNTIME_VARIABLE_PROVIDER`. */
export class VariablesProviderError extends RuntimeError {
  declare readonly code: 'RUNTIME_VARIABLE_PROVIDER';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_VARIABLE_PROVIDER', message, options);
    this.name = 'VariablesProviderError';
  }
}

/** A `[[client_tls]]` file cannot be used (unreadable, not PEM, key not matching its certificate, no roots). Code `RUNTIME_CLIENT_TLS`. */
export class ClientTlsError extends RuntimeError {
  declare readonly code: 'RUNTIME_CLIENT_TLS';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_CLIENT_TLS', message, options);
    this.name = 'ClientTlsError';
  }
}
