import type { Readable } from 'node:stream';
import type { RequestBody } from './transport.js';
import type { Descriptor, FetchedManifest } from './types.js';

/**
 * Bytes of a blob to push: a buffer, or a function that opens a fresh stream for each
 * attempt. A function that cannot open the content again may throw an error carrying
 * `sourceConsumed: true`; the push then fails at once (instead of retrying) so the caller
 * can start over, as `copy()` does by pulling again.
 */
export type BlobSource = RequestBody;

/** Per-blob progress callback: bytes transferred so far for this blob. */
export type ProgressCallback = (transferred: number, total: number) => void;

/** Options of {@link OciTarget.pushBlob}. */
export interface PushBlobOptions {
  /** Repository of the same registry that already holds the blob (cross-repository mount). */
  mountFrom?: string;
  /**
   * Ask whether the target already has the blob before sending it (a registry's `HEAD`).
   * `false` sends it at once: for a small blob the upload costs the registry about what the
   * question does, and a new blob then takes two requests instead of three. A target where
   * asking is free (an OCI layout) may still check.
   * @default true
   */
  checkExists?: boolean;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** What {@link OciTarget.pushBlob} did. */
export interface PushBlobResult {
  /** `exists`: already there (HEAD, or listed by the tag's manifest in `pushApp`); `mounted`: cross-repository mount; `uploaded`: bytes sent. */
  outcome: 'exists' | 'mounted' | 'uploaded';
}

/** Options of {@link OciTarget.pullBlob}. */
export interface PullBlobOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** Options of {@link OciTarget.fetchManifest}. */
export interface FetchManifestOptions {
  /** Media types to accept. @default every OCI and Docker manifest and index type */
  accept?: readonly string[];
  /** Largest manifest accepted. @default 4 MiB */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Somewhere OCI content lives: a repository in a registry, or an OCI image layout
 * directory. `copy()` moves content between any two.
 */
export interface OciTarget {
  /** Human-readable name for messages (`ghcr.io/org/app`, `oci:./dir`). */
  readonly description: string;

  /**
   * Fetch a manifest by tag or digest; its bytes are verified against the digest whenever
   * one is known (a digest reference, or the registry's `Docker-Content-Digest`).
   *
   * @throws OciError `OCI_MANIFEST_UNKNOWN`, `OCI_DIGEST_MISMATCH`, `OCI_MANIFEST_TOO_LARGE`
   */
  fetchManifest(reference: string, options?: FetchManifestOptions): Promise<FetchedManifest>;

  /**
   * Store a manifest under its digest and, when `tag` is given, under that tag.
   *
   * @throws OciError `OCI_DIGEST_MISMATCH` when a registry reports another digest than ours.
   */
  pushManifest(bytes: Uint8Array, mediaType: string, tag?: string, options?: { signal?: AbortSignal }): Promise<Descriptor>;

  /** Whether the blob is present. */
  hasBlob(descriptor: Descriptor, options?: { signal?: AbortSignal }): Promise<boolean>;

  /**
   * Stream a blob into `consume`. The stream is verified while it flows: it errors (with
   * `OCI_DIGEST_MISMATCH`/`OCI_SIZE_MISMATCH`) instead of ending if the bytes are wrong, so
   * a sink that commits only on a clean end never keeps bad content. Transient failures
   * (dropped connections, 5xx, 429) call `consume` again with a fresh stream.
   *
   * @throws OciError `OCI_BLOB_UNKNOWN`, `OCI_DIGEST_MISMATCH`, `OCI_SIZE_MISMATCH`, `OCI_NETWORK`
   */
  pullBlob<T>(descriptor: Descriptor, consume: (stream: Readable) => Promise<T>, options?: PullBlobOptions): Promise<T>;

  /**
   * The whole blob in memory, verified: for small blobs, where a stream costs more than the
   * bytes. Optional; without it, read the stream of `pullBlob`.
   *
   * @throws OciError as `pullBlob`
   */
  readBlob?(descriptor: Descriptor, options?: PullBlobOptions): Promise<Buffer>;

  /**
   * Upload a blob unless it is already present.
   *
   * @throws OciError `OCI_UPLOAD_FAILED`, `OCI_DIGEST_MISMATCH`
   */
  pushBlob(descriptor: Descriptor, source: BlobSource, options?: PushBlobOptions): Promise<PushBlobResult>;

  /** Every tag, in the order the target lists them. */
  listTags(options?: { signal?: AbortSignal; pageSize?: number }): Promise<string[]>;

  /** Manifests that name `digest` as their `subject`, optionally only of one artifact type. */
  referrers(digest: string, options?: { artifactType?: string; signal?: AbortSignal }): Promise<Descriptor[]>;
}
