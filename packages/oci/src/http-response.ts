import type { Readable } from 'node:stream';
import type { ResponseBody } from './response-body.js';
import { DeniedError, ManifestTooLargeError, RegistryError, UnauthorizedError, type OciError } from './errors.js';
import type { TransportResponse } from './transport.js';

/** First value of a header. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The media type of a `Content-Type` header, without parameters. */
export function mediaTypeOf(value: string | string[] | undefined): string | undefined {
  const v = headerValue(value);
  if (!v) return undefined;
  return v.split(';')[0]?.trim();
}

/** Read a response body as text, at most `limit` bytes (the rest is dropped). */
export async function readLimited(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    if (length < limit) chunks.push(Buffer.from(chunk));
    length += chunk.byteLength;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * Turn an unexpected response into an error, reading the registry's error JSON for its
 * message. 401 → `OCI_UNAUTHORIZED`, 403 → `OCI_DENIED`, otherwise `OCI_REGISTRY_ERROR`
 * (`retryable` as the caller says: only it knows whether its retries already ran).
 */
export async function responseError(res: TransportResponse, what: string, registry: string, options: { retryable?: boolean } = {}): Promise<OciError> {
  let detail = '';
  try {
    const text = await readLimited(res.body, 64 * 1024);
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      detail = parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // A body that is not the registry's error JSON adds nothing useful.
  }
  const suffix = detail ? ` (${detail})` : '';
  if (res.status === 401) return new UnauthorizedError(`${what}: registry ${registry} refused access${suffix}. Run \`spinel registry login ${registry}\`.`);
  if (res.status === 403) return new DeniedError(`${what}: registry ${registry} denied permission${suffix}. Check that your account may access this repository.`);
  return new RegistryError(`${what}: registry ${registry} answered HTTP ${res.status}${suffix}.`, res.status, { retryable: options.retryable ?? false });
}

/** Read a whole body, refusing more than `max` bytes (manifests). @throws OciError `OCI_MANIFEST_TOO_LARGE` */
export async function readBounded(body: ResponseBody, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    if (length > max) {
      discard(body);
      throw new ManifestTooLargeError(what, max);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, length);
}

/** Stop reading a body we no longer want, without an unhandled 'error' event. */
export function discard(stream: Readable | ResponseBody): void {
  if ('on' in stream) stream.on('error', () => undefined);
  stream.destroy();
}

/** Drain and drop a response body (keeps the connection reusable). */
export async function dump(res: TransportResponse): Promise<void> {
  await res.body.dump();
}
