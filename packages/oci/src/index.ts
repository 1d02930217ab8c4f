export { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
export { copy, type CopyOptions, type CopyResult } from './copy.js';
export {
  createCredentialResolver,
  credentialKey,
  defaultCredentialPaths,
  readDockerConfig,
  runCredentialHelper,
  staticCredentials,
  type Credential,
  type CredentialPaths,
  type CredentialResolverOptions,
  type CredentialSource,
  type DockerConfigFile,
} from './credentials.js';
export { login, logout, removeCredential, storeCredential, type LoginOptions, type LoginResult } from './credential-store.js';
export { DigestVerifier, isValidDigest, parseDigest, sha256Digest, verifyBytes } from './digest.js';
export {
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
  RegistryError,
  SizeMismatchError,
  UnauthorizedError,
  UploadFailedError,
  type OciErrorCode,
} from './errors.js';
export { ImageLayout, openImageLayout, REF_NAME_ANNOTATION, type OpenImageLayoutOptions } from './image-layout.js';
export { OCI_REQUEST_CHANNEL, RegistryTransport, type OciRequestMessage, type RequestBody, type TransportOptions } from './http.js';
export { ALL_MANIFEST_TYPES, DEFAULT_MAX_MANIFEST_BYTES, IMAGE_MANIFEST_TYPES, INDEX_MANIFEST_TYPES, MediaType } from './media-types.js';
export { fetchImageManifest, parseManifestJson, selectPlatform, WASM_PLATFORM, type ResolvedImage } from './platform.js';
export { pullBlobToCache, type PullToCacheOptions } from './pull-to-cache.js';
export {
  DOCKER_HUB_REGISTRY,
  formatReference,
  isLoopbackRegistry,
  normaliseRegistryHost,
  normaliseServer,
  parseReference,
  referenceTarget,
  type ParseReferenceOptions,
  type Reference,
} from './reference.js';
export {
  createRegistryClient,
  RegistryRepository,
  type RegistryClient,
  type RegistryClientOptions,
  type UploadOptions,
} from './registry-client.js';
export { backoffDelay, isRetryableNetworkError, isRetryableStatus, type RetryOptions } from './retry.js';
export { createSemaphore, mapLimit, type Semaphore } from './semaphore.js';
export { openTarget, parseTargetReference, type TargetReference } from './target-reference.js';
export type {
  BlobSource,
  FetchManifestOptions,
  OciTarget,
  ProgressCallback,
  PullBlobOptions,
  PushBlobOptions,
  PushBlobResult,
} from './target.js';
export type { Descriptor, FetchedManifest, ImageIndex, ImageManifest, Platform } from './types.js';
// Spin apps as OCI artifacts (packaging, unpacking, push and pull of apps).
export { SPIN_MEDIA_TYPES, LOCKED_APP_DIGEST_LABEL, OCI_ORIGIN_PREFIX } from './spin-app/media-types.js';
export {
  SpinAppError,
  SpinAppSourceError,
  SpinAppInvalidError,
  AnnotationError,
  ArtifactUnsupportedError,
  ArtifactBlobMissingError,
  UnsafePathError,
  ArchiveError,
} from './spin-app/errors.js';
export { packageApp, type PackageAppOptions, type PackagedApp, type PackagedBlob } from './spin-app/package-app.js';
export { unpackApp, expandArchiveLayer, componentIdFromReference, type AppBlobStore, type UnpackAppOptions, type UnpackedApp } from './spin-app/unpack-app.js';
export { pushApp, pushPackaged, type PushAppOptions, type PushAppResult, type BlobProgressEvent } from './spin-app/push-app.js';
export { pullApp, pullArtifact, type PullAppOptions, type PullArtifactOptions, type PulledApp, type PulledArtifact } from './spin-app/pull-app.js';
export { openAppTarget, type AppTarget, type OpenAppTargetOptions } from './spin-app/app-target.js';
export { parseAnnotations } from './spin-app/annotations.js';
export { toLockedAppJson } from './spin-app/app-json.js';
export { readTarGz, writeTarGz, safeRelativePath, type TarEntry, type TarInput, type TarLimits } from './spin-app/tar.js';
export type { LockedAppJson, LockedComponentJson, ContentPathJson, ContentRefJson, LockedSourceJson } from './spin-app/types.js';
