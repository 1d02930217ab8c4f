/**
 * Errors raised while packaging or unpacking a Spin app. Every error has a stable `code`
 * (listed in the package README) and a message that says what to do next.
 */
export class SpinAppError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpinAppError';
    this.code = code;
  }
}

/** The locked app cannot be packaged: a source is missing, unreadable or not a file. */
export class SpinAppSourceError extends SpinAppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_APP_SOURCE', message, options);
    this.name = 'SpinAppSourceError';
  }
}

/** The locked app is not in a shape that can be packaged or run. */
export class SpinAppInvalidError extends SpinAppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_APP_INVALID', message, options);
    this.name = 'SpinAppInvalidError';
  }
}

/** An annotation given as `key=value` is malformed. */
export class AnnotationError extends SpinAppError {
  constructor(message: string) {
    super('OCI_ANNOTATION_INVALID', message);
    this.name = 'AnnotationError';
  }
}

/** The pulled artifact is neither a Spin app nor a single-layer Wasm artifact. */
export class ArtifactUnsupportedError extends SpinAppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_ARTIFACT_UNSUPPORTED', message, options);
    this.name = 'ArtifactUnsupportedError';
  }
}

/** A blob the artifact refers to is not in the cache. */
export class ArtifactBlobMissingError extends SpinAppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_ARTIFACT_BLOB_MISSING', message, options);
    this.name = 'ArtifactBlobMissingError';
  }
}

/** A file path in the locked app or an archive would escape its directory. */
export class UnsafePathError extends SpinAppError {
  constructor(message: string) {
    super('OCI_UNSAFE_PATH', message);
    this.name = 'UnsafePathError';
  }
}

/**
 * An archive layer was refused: corrupt, an entry that is not a regular file or directory,
 * or over the size / entry-count caps. `code` says which.
 */
export class ArchiveError extends SpinAppError {
  constructor(
    code: 'OCI_ARCHIVE_CORRUPT' | 'OCI_ARCHIVE_ENTRY_TYPE' | 'OCI_ARCHIVE_TOO_LARGE' | 'OCI_ARCHIVE_TOO_MANY_ENTRIES',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ArchiveError';
  }
}
