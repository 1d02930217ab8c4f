/**
 * Errors thrown by `@spinel/oci`: every one is an {@link OciError} with a stable `code`
 * (listed in the package README) and a message that says what to do next. Callers switch
 * on `code`; `retryable` says whether trying the same operation again can succeed.
 * Messages never contain credentials.
 */

/** Stable error codes of this package (see the README for what each one means). */
export type OciErrorCode =
  | 'OCI_INVALID_REFERENCE'
  | 'OCI_INVALID_DIGEST'
  | 'OCI_DIGEST_MISMATCH'
  | 'OCI_SIZE_MISMATCH'
  | 'OCI_MANIFEST_TOO_LARGE'
  | 'OCI_MANIFEST_INVALID'
  | 'OCI_MANIFEST_UNKNOWN'
  | 'OCI_BLOB_UNKNOWN'
  | 'OCI_NO_MATCHING_PLATFORM'
  | 'OCI_UNAUTHORIZED'
  | 'OCI_DENIED'
  | 'OCI_AUTH_FAILED'
  | 'OCI_CREDENTIAL_HELPER'
  | 'OCI_CREDENTIALS_FILE'
  | 'OCI_LOGIN_INPUT'
  | 'OCI_REGISTRY_ERROR'
  | 'OCI_NETWORK'
  | 'OCI_UPLOAD_FAILED'
  | 'OCI_LAYOUT_INVALID'
  | 'OCI_APP_SOURCE'
  | 'OCI_APP_NOT_WASM'
  | 'OCI_APP_INVALID'
  | 'OCI_APP_LINK_OUTSIDE'
  | 'OCI_APP_NOT_REGULAR_FILE'
  | 'OCI_APP_TOO_LARGE'
  | 'OCI_APP_FILE_CHANGED'
  | 'OCI_ANNOTATION_INVALID'
  | 'OCI_ARTIFACT_UNSUPPORTED'
  | 'OCI_PACKAGE_NOT_FOUND'
  | 'OCI_ARTIFACT_BLOB_MISSING'
  | 'OCI_ARTIFACT_BLOB_CORRUPT'
  | 'OCI_UNSAFE_PATH'
  | 'OCI_ARCHIVE_CORRUPT'
  | 'OCI_ARCHIVE_ENTRY_TYPE'
  | 'OCI_ARCHIVE_TOO_LARGE'
  | 'OCI_ARCHIVE_TOO_MANY_ENTRIES';

/** Options every {@link OciError} takes. */
export interface OciErrorOptions {
  cause?: unknown;
  /** Whether the same operation may succeed if tried again. @default false */
  retryable?: boolean;
}

/** Base class of every error thrown by `@spinel/oci`. */
export class OciError extends Error {
  readonly code: OciErrorCode;
  /** True when trying the same operation again can succeed (a dropped connection, a 5xx, a 429). */
  readonly retryable: boolean;

  constructor(code: OciErrorCode, message: string, options: OciErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A reference (`registry/repo:tag@digest`) or server name could not be parsed. */
export class InvalidReferenceError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_INVALID_REFERENCE', message, options);
  }
}

/** A digest string is not `algorithm:hex` of a supported algorithm. */
export class InvalidDigestError extends OciError {
  constructor(message: string) {
    super('OCI_INVALID_DIGEST', message);
  }
}

/** Content did not hash to the digest it was expected to have. Nothing was stored. */
export class DigestMismatchError extends OciError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(
      'OCI_DIGEST_MISMATCH',
      `${what} has digest ${actual} but ${expected} was expected; the content was discarded. The registry or a proxy returned wrong data: retry, and report it to the registry operator if it persists.`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content length differs from the size in its descriptor; `retryable` when the connection ended early. */
export class SizeMismatchError extends OciError {
  constructor(what: string, expected: number, actual: number, options?: OciErrorOptions) {
    super(
      'OCI_SIZE_MISMATCH',
      `${what} is ${actual} bytes but its descriptor says ${expected}; the content was discarded. Retry, and report it to the registry operator if it persists.`,
      options,
    );
  }
}

/** A manifest is larger than the limit (4 MiB by default). */
export class ManifestTooLargeError extends OciError {
  constructor(what: string, limit: number) {
    super('OCI_MANIFEST_TOO_LARGE', `${what} is larger than ${limit} bytes; manifests that large are refused. Check the reference points at a manifest.`);
  }
}

/** A manifest, index or layout file is not valid JSON of the expected shape. */
export class ManifestInvalidError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_MANIFEST_INVALID', message, options);
  }
}

/** The registry or layout has no manifest for the tag or digest. */
export class ManifestUnknownError extends OciError {
  constructor(reference: string, options?: OciErrorOptions) {
    super('OCI_MANIFEST_UNKNOWN', `${reference} was not found. Check the repository name and tag, and that you are logged in if it is private.`, options);
  }
}

/** The registry or layout has no blob with the digest. */
export class BlobUnknownError extends OciError {
  constructor(where: string, digest: string, options?: OciErrorOptions) {
    super('OCI_BLOB_UNKNOWN', `blob ${digest} was not found in ${where}. The artifact is incomplete: push it again.`, options);
  }
}

/** An index has no entry for the wanted platform. */
export class NoMatchingPlatformError extends OciError {
  constructor(reference: string, wanted: string) {
    super('OCI_NO_MATCHING_PLATFORM', `${reference} is an index with no manifest for platform ${wanted}. Pull a reference that points at a Wasm artifact.`);
  }
}

/** The registry refused the request (401) even after authenticating. */
export class UnauthorizedError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_UNAUTHORIZED', message, options);
  }
}

/** The registry answered 403: the credentials are valid but lack permission. */
export class DeniedError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_DENIED', message, options);
  }
}

/** The token service refused to issue a token or answered something unusable. */
export class AuthFailedError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_AUTH_FAILED', message, options);
  }
}

/** A `docker-credential-<name>` helper failed or printed something unusable. */
export class CredentialHelperError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_CREDENTIAL_HELPER', message, options);
  }
}

/** A credentials file could not be read or written. */
export class CredentialsFileError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_CREDENTIALS_FILE', message, options);
  }
}

/** `login` was not given what it needs (user name, password) and could not ask for it. */
export class LoginInputError extends OciError {
  constructor(message: string) {
    super('OCI_LOGIN_INPUT', message);
  }
}

/** The registry answered an unexpected status with no more specific code. */
export class RegistryError extends OciError {
  readonly status: number;
  constructor(message: string, status: number, options?: OciErrorOptions) {
    super('OCI_REGISTRY_ERROR', message, options);
    this.status = status;
  }
}

/** The registry could not be reached, or the connection failed after all retries. */
export class NetworkError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_NETWORK', message, options);
  }
}

/** A blob upload failed in a way retries did not fix. */
export class UploadFailedError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_UPLOAD_FAILED', message, options);
  }
}

/** An OCI image layout directory is missing or malformed. */
export class LayoutInvalidError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_LAYOUT_INVALID', message, options);
  }
}

/** A component source or file of the app cannot be read (it was not built, or it moved). */
export class AppSourceError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_APP_SOURCE', message, options);
  }
}

/** A component (or dependency) source is not Wasm: Spin refuses to push it, and so do we. */
export class AppNotWasmError extends OciError {
  constructor(message: string) {
    super('OCI_APP_NOT_WASM', message);
  }
}

/** The locked app cannot be packaged or run as it is. */
export class AppInvalidError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_APP_INVALID', message, options);
  }
}

/**
 * A file or source the app names is not something packaging may read: a link in a files
 * directory resolving outside it (`OCI_APP_LINK_OUTSIDE`), a device, FIFO or socket
 * (`OCI_APP_NOT_REGULAR_FILE`), or over the size limit (`OCI_APP_TOO_LARGE`).
 */
export class AppFileRefusedError extends OciError {
  constructor(code: 'OCI_APP_LINK_OUTSIDE' | 'OCI_APP_NOT_REGULAR_FILE' | 'OCI_APP_TOO_LARGE', message: string) {
    super(code, message);
  }
}

/**
 * A file read again at upload is no longer the one packaging hashed: its path now names another
 * file (a link or a file put in its place) or the file was written since. None of its bytes are sent.
 */
export class AppFileChangedError extends OciError {
  constructor(message: string) {
    super('OCI_APP_FILE_CHANGED', message);
  }
}

/** An annotation given as `key=value` is malformed. */
export class AnnotationError extends OciError {
  constructor(message: string) {
    super('OCI_ANNOTATION_INVALID', message);
  }
}

/** The pulled artifact is neither a Spin app nor a single-layer Wasm artifact. */
export class ArtifactUnsupportedError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_ARTIFACT_UNSUPPORTED', message, options);
  }
}

/** No release of a Wasm package satisfies the version requirement. */
export class PackageNotFoundError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_PACKAGE_NOT_FOUND', message, options);
  }
}

/** A blob the artifact refers to is not in the store. */
export class ArtifactBlobMissingError extends OciError {
  constructor(message: string, options?: OciErrorOptions) {
    super('OCI_ARTIFACT_BLOB_MISSING', message, options);
  }
}

/**
 * A blob in the store no longer matches its digest (it changed on disk after it was stored):
 * it was removed, so pulling again fetches it. `retryable`: a pull that removed it succeeds.
 */
export class ArtifactBlobCorruptError extends OciError {
  readonly digest: string;

  constructor(digest: string, message: string) {
    super('OCI_ARTIFACT_BLOB_CORRUPT', message, { retryable: true });
    this.digest = digest;
  }
}

/** A file path in the locked app or an archive would escape its directory. */
export class UnsafePathError extends OciError {
  constructor(message: string) {
    super('OCI_UNSAFE_PATH', message);
  }
}

/** Codes of {@link ArchiveError}. */
export type ArchiveErrorCode = 'OCI_ARCHIVE_CORRUPT' | 'OCI_ARCHIVE_ENTRY_TYPE' | 'OCI_ARCHIVE_TOO_LARGE' | 'OCI_ARCHIVE_TOO_MANY_ENTRIES';

/**
 * An archive layer was refused: corrupt, an entry that is not a regular file or directory,
 * or over the size / entry-count caps. `code` says which.
 */
export class ArchiveError extends OciError {
  constructor(code: ArchiveErrorCode, message: string, options?: OciErrorOptions) {
    super(code, message, options);
  }
}
