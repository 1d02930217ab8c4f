import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/** `NODE_DEBUG=spinel-oci`: one line per registry request. */
export const debug = debuglog('spinel-oci');

/** Name of the diagnostics channel that gets one message per HTTP response (or failure). */
export const OCI_REQUEST_CHANNEL = 'spinel:oci:request';
const requestChannel = channel(OCI_REQUEST_CHANNEL);

/** What is published on {@link OCI_REQUEST_CHANNEL}. Never includes headers or query strings. */
export interface OciRequestMessage {
  method: string;
  registry: string;
  /** URL path, without query. */
  path: string;
  /** HTTP status, or undefined when the request failed before a response. */
  status?: number;
  /** 0 for the first try, then 1, 2, … for retries. */
  attempt: number;
  /** Error code when the request failed without a response. */
  error?: string;
}


/** Publish one request outcome (no-op without subscribers). */
export function publishRequest(message: OciRequestMessage): void {
  if (requestChannel.hasSubscribers) requestChannel.publish(message);
}

/** A short code for an error (undici's `UND_ERR_*`, a system `E*` code, or its name). */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : (err as Error).name ?? 'Error';
}

/** The code and message of a network failure, for error messages. */
export function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code} ${message}` : message;
}
