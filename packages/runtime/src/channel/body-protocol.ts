/**
 * Request bodies over a worker's blocking channel: the worker starts one streamed call per
 * request body when the guest first reads it, the main thread pushes chunks while fewer than
 * {@link BODY_WINDOW_BYTES} are unacknowledged, and the worker acknowledges what the guest read.
 * The worker cancels the call when the request is over; the main thread then drops the rest.
 */

/** Channel method of a request body; not counted as a worker waiting on a capability. */
export const BODY_METHOD = 'request.body';

/** Arguments of a {@link BODY_METHOD} call. */
export interface BodyCallArgs {
  job: number;
}

/** Pushed to the worker: the next piece of the body. */
export interface BodyPush {
  chunk: Uint8Array;
}

/** Sent by the worker: bytes the guest has read since the last acknowledgement. */
export interface BodyAck {
  ack: number;
}

/** The call's result: the body ended (`ok`), or it failed (the client went away, the body was too large). */
export type BodyResult = { ok: true } | { ok: false; message: string };

/** Bytes pushed and not yet read by the guest; past this the socket is not read further. */
export const BODY_WINDOW_BYTES = 256 * 1024;
