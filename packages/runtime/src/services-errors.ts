/**
 * Errors of the guest capabilities (outbound HTTP, key-value wiring, variables, the blocking
 * bridge). Callers switch on `code`; the codes are listed in the package README.
 */

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
  | 'RUNTIME_BRIDGE_CALL_FAILED';

/** Base class of the capability errors: a stable `code`, a message that says what to do next. */
export class CapabilityError extends Error {
  readonly code: CapabilityErrorCode;
  constructor(code: CapabilityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapabilityError';
    this.code = code;
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
