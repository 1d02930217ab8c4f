/**
 * Error classes of `@spinel/manifest`. Every error carries a stable string `code`
 * (listed in the README) so callers can switch on it; messages say what to do next.
 */

/** Where in a source file a problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  /** The file the text came from, when known. */
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  /** A few lines of the source with a caret under the column. */
  readonly excerpt?: string;
}

/** Options shared by every manifest error. */
export interface ManifestErrorOptions extends SourceLocation {
  readonly cause?: unknown;
  /** Dotted key path inside the manifest, e.g. `component.web.source`. */
  readonly keyPath?: string;
}

/** Base class of every error thrown by `@spinel/manifest`. */
export class ManifestError extends Error {
  /** Stable machine-readable code, e.g. `MANIFEST_INVALID_ROUTE`. */
  readonly code: string;
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  readonly excerpt?: string;
  readonly keyPath?: string;

  constructor(code: string, message: string, options: ManifestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ManifestError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
    if (options.line !== undefined) this.line = options.line;
    if (options.column !== undefined) this.column = options.column;
    if (options.excerpt !== undefined) this.excerpt = options.excerpt;
    if (options.keyPath !== undefined) this.keyPath = options.keyPath;
  }

  /** `path:line:column: error[CODE]: message` plus the caret excerpt, as a diagnostic. */
  format(): string {
    const where = [this.path, this.line, this.column].filter((v) => v !== undefined).join(':');
    const head = where === '' ? `error[${this.code}]: ${this.message}` : `${where}: error[${this.code}]: ${this.message}`;
    return this.excerpt === undefined ? head : `${head}\n${this.excerpt}`;
  }
}

/** A single independent problem, as listed in {@link ManifestAggregateError.errors}. */
export interface ManifestDiagnostic {
  readonly code: string;
  readonly message: string;
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  readonly excerpt?: string;
  readonly keyPath?: string;
}

/**
 * Several independent problems found in one manifest, reported together.
 * `code` is `MANIFEST_INVALID`; each entry of `errors` has its own code and location.
 */
export class ManifestAggregateError extends ManifestError {
  readonly errors: readonly ManifestError[];

  /** How many problems were found; `errors` lists at most the first hundred. */
  readonly total: number;

  constructor(errors: readonly ManifestError[], options: { path?: string; total?: number } = {}) {
    const first = errors[0];
    const where = options.path === undefined ? 'the manifest' : `"${options.path}"`;
    const total = Math.max(options.total ?? errors.length, errors.length);
    const head =
      total === 1 && first !== undefined
        ? `Found a problem in ${where}; fix it and try again:`
        : total > errors.length
          ? `Found ${total} problems in ${where}; the first ${errors.length} are listed, fix them and try again:`
          : `Found ${total} problems in ${where}; fix them and try again:`;
    const body = errors.map((e) => indent(e.format())).join('\n');
    super('MANIFEST_INVALID', `${head}\n${body}`, options.path === undefined ? {} : { path: options.path });
    this.name = 'ManifestAggregateError';
    this.errors = errors;
    this.total = total;
  }

  /** The problems as plain objects (e.g. for `--json`). */
  get diagnostics(): ManifestDiagnostic[] {
    return this.errors.map((e) => {
      const d: { -readonly [K in keyof ManifestDiagnostic]: ManifestDiagnostic[K] } = { code: e.code, message: e.message };
      if (e.path !== undefined) d.path = e.path;
      if (e.line !== undefined) d.line = e.line;
      if (e.column !== undefined) d.column = e.column;
      if (e.excerpt !== undefined) d.excerpt = e.excerpt;
      if (e.keyPath !== undefined) d.keyPath = e.keyPath;
      return d;
    });
  }
}

/** A locked-app JSON document that cannot be read (`MANIFEST_LOCKED_*` codes). */
export class LockedAppError extends ManifestError {
  constructor(code: string, message: string, options: ManifestErrorOptions = {}) {
    super(code, message, options);
    this.name = 'LockedAppError';
  }
}

/** An `allowed_outbound_hosts` entry that is not valid (`MANIFEST_INVALID_ALLOWED_HOST`). */
export class AllowedHostError extends ManifestError {
  /** The entry as written. */
  readonly entry: string;

  constructor(entry: string, message: string, options: ManifestErrorOptions = {}) {
    super('MANIFEST_INVALID_ALLOWED_HOST', message, options);
    this.name = 'AllowedHostError';
    this.entry = entry;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`))
    .join('\n');
}
