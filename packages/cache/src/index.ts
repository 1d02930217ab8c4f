export {
  CacheError,
  CacheInvalidDigestError,
  CacheDigestMismatchError,
  CacheIntegrityError,
  CacheNotFoundError,
  CacheInvalidNameError,
  CacheInvalidKeyError,
  CacheTooLargeError,
  CacheDownloadError,
  CacheTooManyRedirectsError,
  CacheInvalidArgumentError,
  CacheIoError,
} from './errors.js';
export type { CacheErrorCode } from './errors.js';
export { parseDigest, isDigest, sha256Digest, digestFileName, digestFromFileName } from './digest.js';
export type { ParsedDigest } from './digest.js';
export { openCache, Cache } from './cache.js';
export { hashFile, hashHandle } from './hash-file.js';
export { listEntries, cacheSize, verifyCache, pruneCache, cleanCache, removeCorruptBlobs } from './maintenance.js';
export type {
  EntryKind,
  CacheEntry,
  TempEntry,
  CacheSize,
  VerifyCacheOptions,
  CorruptEntry,
  VerifyReport,
  PruneOptions,
  PruneReport,
  CleanReport,
} from './maintenance.js';
export type {
  BlobKind,
  CacheOptions,
  PutOptions,
  PutResult,
  VerifyMode,
  ReadOptions,
  OpenedBlob,
  BlobInfo,
  ManifestRef,
  ManifestFiles,
  DerivedResult,
  DerivedContent,
} from './cache.js';
export { defaultCacheRoot } from './default-root.js';
export type { DefaultCacheRootOptions } from './default-root.js';
export { parseSize, parseDuration, formatSize } from './units.js';
export { downloadToCache, createUrlResolver } from './download.js';
export type { DownloadOptions, UrlResolver } from './download.js';
export { redactUrl } from './redact-url.js';
