import type { PushBlobResult } from './target.js';
import type { Descriptor } from './types.js';

/**
 * A transfer event for one blob of a push or pull, for progress displays: `start`, then
 * `progress` with the bytes moved so far, then `done` with what happened. A blob that
 * needs no transfer gets only `done`.
 */
export interface BlobProgressEvent {
  descriptor: Descriptor;
  phase: 'start' | 'progress' | 'done';
  /** Bytes moved so far (on `done`: the blob's size when it was moved, 0 when it was not). */
  transferred: number;
  /** On `done`: `exists`/`cached` (nothing moved), `mounted`, `uploaded` or `downloaded`. */
  outcome?: PushBlobResult['outcome'] | 'cached' | 'downloaded';
}

/** Receives {@link BlobProgressEvent}s; it must not throw. */
export type BlobProgressListener = (event: BlobProgressEvent) => void;
