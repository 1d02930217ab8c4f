/** Stable codes of the engine's errors; callers switch on `err.code`. */
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
  | 'RUNTIME_PREPARE_FAILED'
  | 'RUNTIME_MEMORY_LIMIT'
  | 'RUNTIME_FILES_MOUNT'
  | 'RUNTIME_WAGI_UNAVAILABLE';

/** Base class of every error the engine throws; `code` is stable, `componentId` names the guest when one is involved. */
export class ExecutorError extends Error {
  readonly code: ExecutorErrorCode;
  readonly componentId: string | undefined;
  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown; componentId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExecutorError';
    this.code = code;
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
