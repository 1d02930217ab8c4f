/**
 * Errors of `spinel-runner`. `main` prints the message and the code and exits 1; the codes
 * are listed in the README (a test keeps them in sync) and are stable.
 */

/** Every stable code the runner throws. */
export type RunnerErrorCode =
  | 'RUNNER_INVALID_CONFIG'
  | 'RUNNER_NO_APP'
  | 'RUNNER_RUNTIME_CONFIG'
  | 'RUNNER_LISTEN'
  | 'RUNNER_STOPPED';

/** The runner's one error class: a plain message saying what to do, a stable `code`, `cause` chained. */
export class RunnerError extends Error {
  readonly code: RunnerErrorCode;

  constructor(code: RunnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunnerError';
    this.code = code;
  }
}

/** A flag or `SPINEL_*` variable has a value the runner cannot use; `source` names which. */
export function invalidConfig(source: string, message: string): RunnerError {
  return new RunnerError('RUNNER_INVALID_CONFIG', `${source}: ${message}`);
}

/** The stable code of any error (ours or a library's), for logs and metrics. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
