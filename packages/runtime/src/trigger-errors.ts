/**
 * Errors of the HTTP trigger and the WAGI runner. Callers switch on `code`; the codes
 * are listed in the package README and are public contract.
 */

/** Codes thrown by the HTTP trigger, `serve` and WAGI. */
export type HttpTriggerErrorCode =
  | 'RUNTIME_HTTP_INVALID_ROUTE'
  | 'RUNTIME_HTTP_INVALID_TRIGGER'
  | 'RUNTIME_HTTP_ADDRESS_IN_USE'
  | 'RUNTIME_HTTP_LISTEN_FAILED'
  | 'RUNTIME_HTTP_INVALID_LISTEN'
  | 'RUNTIME_HTTP_TLS'
  | 'RUNTIME_WAGI_INVALID_MODULE';

/** Base class of the HTTP trigger's errors: a stable `code`, a message saying what to do next. */
export class HttpTriggerError extends Error {
  readonly code: HttpTriggerErrorCode;
  constructor(code: HttpTriggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpTriggerError';
    this.code = code;
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
