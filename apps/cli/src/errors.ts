/**
 * Codes of the errors the CLI raises itself (library errors keep their library's code).
 * Listed in the README; a test keeps the two in sync.
 */
export type CliErrorCode =
  | 'CLI_BUILD_FAILED'
  | 'CLI_INVALID_FLAG'
  | 'CLI_UNKNOWN_COMPONENT'
  | 'CLI_UNSUPPORTED'
  | 'CLI_DOCTOR_PROBLEMS'
  | 'CLI_TEMPLATE_NOT_FOUND'
  | 'CLI_TEMPLATE_INVALID'
  | 'CLI_TEMPLATE_SOURCE'
  | 'CLI_TEMPLATE_VALUES'
  | 'CLI_TEMPLATE_RENDER'
  | 'CLI_TEMPLATE_OUTPUT_EXISTS'
  | 'CLI_TEMPLATE_UNSUPPORTED_VARIANT'
  | 'CLI_INVALID_NAME'
  | 'CLI_MANIFEST_EDIT'
  | 'CLI_WATCH_FAILED'
  | 'CLI_CANCELLED'
  | 'CLI_UNKNOWN_COMMAND'
  | 'CLI_NO_DEFAULT_REGISTRY';

/** An error the CLI raises itself: a plain message that says what to do next, and a stable code. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  /** An optional next step printed after the message by the error boundary. */
  readonly hint: string | undefined;

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.hint = options.hint;
  }
}
