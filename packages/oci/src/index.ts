export { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
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
  ManifestInvalidError,
  ManifestTooLargeError,
  ManifestUnknownError,
  NetworkError,
  NoMatchingPlatformError,
  OciError,
  RegistryError,
  SizeMismatchError,
  UnauthorizedError,
  UnsupportedError,
  UploadFailedError,
  type OciErrorCode,
} from './errors.js';
export { OCI_REQUEST_CHANNEL, RegistryTransport, type OciRequestMessage, type RequestBody, type TransportOptions } from './http.js';
export { ALL_MANIFEST_TYPES, DEFAULT_MAX_MANIFEST_BYTES, IMAGE_MANIFEST_TYPES, INDEX_MANIFEST_TYPES, MediaType } from './media-types.js';
export { fetchImageManifest, parseManifestJson, selectPlatform, WASM_PLATFORM, type ResolvedImage } from './platform.js';
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
