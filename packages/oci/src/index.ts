// Registry client and targets.
export { createRegistryClient, RegistryRepository, type RegistryClient, type RegistryClientOptions, type UploadOptions } from './registry-client.js';
export { openImageLayout, ImageLayout, REF_NAME_ANNOTATION, type OpenImageLayoutOptions } from './image-layout.js';
export { openTarget, type OpenedTarget, type OpenTargetOptions } from './open-target.js';
export { parseTargetReference, type TargetReference } from './target-reference.js';
export { copy, type CopyOptions, type CopyResult } from './copy.js';
export { fetchImageManifest, parseManifestJson, selectPlatform, WASM_PLATFORM, type ResolvedImage } from './platform.js';
export type {
  BlobSource,
  FetchManifestOptions,
  OciTarget,
  ProgressCallback,
  PullBlobOptions,
  PushBlobOptions,
  PushBlobResult,
} from './target.js';
export type { TransportOptions } from './transport.js';
export type { RetryOptions } from './retry.js';
export { OCI_REQUEST_CHANNEL, type OciRequestMessage } from './diagnostics.js';

// References and credentials.
export {
  DOCKER_HUB_REGISTRY,
  formatReference,
  isLoopbackRegistry,
  normaliseServer,
  parseReference,
  type ParseReferenceOptions,
  type Reference,
} from './reference.js';
export {
  createCredentialResolver,
  defaultCredentialPaths,
  staticCredentials,
  type Credential,
  type CredentialPaths,
  type CredentialResolverOptions,
  type CredentialSource,
} from './credentials.js';
export { login, logout, type LoginOptions, type LoginResult } from './credential-store.js';

// The OCI model: one set of types and media types, digests.
export type { Descriptor, FetchedManifest, ImageIndex, ImageManifest, Platform } from './types.js';
export { ALL_MANIFEST_TYPES, DEFAULT_MAX_MANIFEST_BYTES, LOCKED_APP_DIGEST_LABEL, MediaType, OCI_ORIGIN_PREFIX } from './media-types.js';
export { isValidDigest, parseDigest } from './digest.js';

// Spin apps as OCI artifacts.
export { pushApp, type PushAppOptions, type PushAppResult } from './spin-app/push-app.js';
export { pullApp, pullArtifact, type PullAppOptions, type PullArtifactOptions, type PulledApp, type PulledArtifact, type PullOutcome } from './spin-app/pull-app.js';
export { packageApp, type PackageAppOptions, type PackagedApp, type PackagedBlob } from './spin-app/package-app.js';
export { unpackApp, type UnpackAppOptions, type UnpackedApp } from './spin-app/unpack-app.js';
export type { AppBlobKind, AppBlobStore, SpinCacheLocation } from './spin-app/app-blob-store.js';
export { DEFAULT_TAR_LIMITS, type TarLimits } from './spin-app/archive-reader.js';
export { parseAnnotations } from './spin-app/annotations.js';
export type { BlobProgressEvent, BlobProgressListener } from './progress.js';

// Errors: one root, one code union.
export {
  AnnotationError,
  AppFileChangedError,
  AppInvalidError,
  AppNotWasmError,
  AppSourceError,
  ArchiveError,
  ArtifactBlobMissingError,
  ArtifactUnsupportedError,
  AuthFailedError,
  BlobUnknownError,
  CredentialHelperError,
  CredentialsFileError,
  DeniedError,
  DigestMismatchError,
  InvalidDigestError,
  InvalidReferenceError,
  LayoutInvalidError,
  LoginInputError,
  ManifestInvalidError,
  ManifestTooLargeError,
  ManifestUnknownError,
  NetworkError,
  NoMatchingPlatformError,
  OciError,
  PackageNotFoundError,
  RegistryError,
  SizeMismatchError,
  UnauthorizedError,
  UnsafePathError,
  UploadFailedError,
  type ArchiveErrorCode,
  type OciErrorCode,
  type OciErrorOptions,
} from './errors.js';
export { pullWasmPackage, type PullWasmPackageOptions, type PulledWasmPackage } from './wasm-package/pull-wasm-package.js';
export { pushWasmPackage, type PushWasmPackageOptions } from './wasm-package/push-wasm-package.js';
