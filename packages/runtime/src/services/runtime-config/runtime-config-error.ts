/**
 * Errors of the runtime-config reader. Callers switch on `code`; the codes are listed in the
 * package README.
 */

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
export class RuntimeConfigError extends Error {
  readonly code: RuntimeConfigErrorCode;
  /** The file, when the text came from one. */
  readonly file: string | undefined;
  readonly problems: readonly RuntimeConfigProblem[];
  constructor(code: RuntimeConfigErrorCode, message: string, options: { file?: string | undefined; problems?: readonly RuntimeConfigProblem[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeConfigError';
    this.code = code;
    this.file = options.file;
    this.problems = options.problems ?? [];
  }
}
