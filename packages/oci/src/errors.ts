/**
 * Errors thrown by `@spinel/oci`. Every error carries a stable `code`; callers switch on it.
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
  | 'OCI_LAYOUT_INVALID';


/** Base class of every error thrown by `@spinel/oci`. */
export class OciError extends Error {
  readonly code: OciErrorCode;

  constructor(code: OciErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** A reference (`registry/repo:tag@digest`) or server name could not be parsed. */
export class InvalidReferenceError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
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

/** Content length differs from the size in its descriptor. */
export class SizeMismatchError extends OciError {
  constructor(what: string, expected: number, actual: number) {
    super(
      'OCI_SIZE_MISMATCH',
      `${what} is ${actual} bytes but its descriptor says ${expected}; the content was discarded. Retry, and report it to the registry operator if it persists.`,
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
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_MANIFEST_INVALID', message, options);
  }
}

/** The registry or layout has no manifest for the tag or digest. */
export class ManifestUnknownError extends OciError {
  constructor(reference: string, options?: { cause?: unknown }) {
    super('OCI_MANIFEST_UNKNOWN', `${reference} was not found. Check the repository name and tag, and that you are logged in if it is private.`, options);
  }
}

/** The registry or layout has no blob with the digest. */
export class BlobUnknownError extends OciError {
  constructor(where: string, digest: string, options?: { cause?: unknown }) {
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
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_UNAUTHORIZED', message, options);
  }
}

/** The registry answered 403: the credentials are valid but lack permission. */
export class DeniedError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_DENIED', message, options);
  }
}

/** The token service refused to issue a token or answered something unusable. */
export class AuthFailedError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_AUTH_FAILED', message, options);
  }
}

/** A `docker-credential-<name>` helper failed or printed something unusable. */
export class CredentialHelperError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_CREDENTIAL_HELPER', message, options);
  }
}

/** A credentials file could not be read or written. */
export class CredentialsFileError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
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
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super('OCI_REGISTRY_ERROR', message, options);
    this.status = status;
  }
}

/** The registry could not be reached, or the connection failed after all retries. */
export class NetworkError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_NETWORK', message, options);
  }
}

/** A blob upload failed in a way retries did not fix. */
export class UploadFailedError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_UPLOAD_FAILED', message, options);
  }
}

/** An OCI image layout directory is missing or malformed. */
export class LayoutInvalidError extends OciError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OCI_LAYOUT_INVALID', message, options);
  }
}
