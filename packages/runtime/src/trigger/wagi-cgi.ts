/**
 * WAGI's CGI 1.1 contract (Spin's `crates/http/src/wagi/mod.rs`): the environment and argv a WAGI module
 * is started with, and the parsing of what it writes to stdout into an HTTP response.
 * Pure functions.
 */
import { requestMetadata, type RequestContext } from './request-metadata.js';
import type { RouteMatch } from './router.js';

/** The default `argv` template of a WAGI executor. */
export const DEFAULT_WAGI_ARGV = '${SCRIPT_NAME} ${ARGS}';

/** What the CGI environment is built from. */
export interface CgiRequest {
  method: string;
  /** `1.1`, `1.0`, `2.0` as Node reports it. */
  httpVersion: string;
  /** Inbound headers as Node's `rawHeaders` (name, value, name, value…). */
  rawHeaders: readonly string[];
  contentLength: number;
}

/** Builds the CGI environment: CGI 1.1 variables, Spin's `X_*` metadata and `HTTP_*` headers. */
export function buildCgiEnv(request: CgiRequest, match: RouteMatch<unknown>, ctx: RequestContext): Array<[string, string]> {
  const env = new Map<string, string>();
  const { host, port } = hostAndPort(ctx.host);
  const query = queryOf(ctx.pathAndQuery);
  let contentType = '';
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if ((request.rawHeaders[i] as string).toLowerCase() === 'content-type') contentType = request.rawHeaders[i + 1] as string;
  }
  env.set('AUTH_TYPE', '');
  env.set('CONTENT_LENGTH', String(request.contentLength));
  env.set('CONTENT_TYPE', contentType);
  env.set('GATEWAY_INTERFACE', 'CGI/1.1');
  env.set('QUERY_STRING', query);
  env.set('REMOTE_ADDR', ctx.clientAddress);
  env.set('REMOTE_HOST', ctx.clientAddress);
  env.set('REMOTE_USER', '');
  env.set('REQUEST_METHOD', request.method);
  env.set('SCRIPT_NAME', match.route.wildcard ? match.route.prefix : match.route.based);
  env.set('X_RAW_PATH_INFO', match.pathInfo);
  env.set('PATH_TRANSLATED', percentDecode(match.pathInfo));
  env.set('SERVER_NAME', host);
  env.set('SERVER_PORT', port);
  env.set('SERVER_PROTOCOL', `HTTP/${request.httpVersion}`);
  env.set('SERVER_SOFTWARE', 'WAGI/1');
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const key = `HTTP_${(request.rawHeaders[i] as string).toUpperCase().replaceAll('-', '_')}`;
    if (key === 'HTTP_AUTHORIZATION' || key === 'HTTP_CONNECTION') continue;
    env.set(key, request.rawHeaders[i + 1] as string);
  }
  // Spin's metadata comes last and wins, which makes PATH_INFO the raw capture.
  for (const [, wagiName, value] of requestMetadata(match, ctx)) env.set(wagiName, value);
  return [...env];
}

/** Expands an argv template: `${SCRIPT_NAME}` → request path, `${ARGS}` → query with `&` as spaces. */
export function buildArgv(template: string, pathAndQuery: string): string[] {
  const q = pathAndQuery.indexOf('?');
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const args = queryOf(pathAndQuery).replaceAll('&', ' ');
  return template
    .replaceAll('${SCRIPT_NAME}', path)
    .replaceAll('${ARGS}', args)
    .split(' ')
    .filter((a) => a !== '');
}

/** An HTTP response produced from CGI output. */
export interface CgiResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** The body Spin answers (with 500) when CGI output has neither `Content-Type`, `Location` nor `Status`. */
export const CGI_INSUFFICIENT_RESPONSE = "Exactly one of 'location' or 'content-type' must be specified";

/**
 * Parses CGI stdout: headers up to the first blank line (CR ignored), then the body.
 * `Status: NNN [text]` sets the status (unparseable → 502); `Location` sets 302 unless a
 * status was given; without any of `Content-Type`/`Status`/`Location` the answer is 500
 * with Spin's message. Invalid header values throw (the caller answers an empty 500).
 */
export function parseCgiResponse(stdout: Uint8Array): CgiResponse {
  let split = -1;
  let last = -1;
  const headerBytes: number[] = [];
  for (let i = 0; i < stdout.length; i++) {
    const b = stdout[i] as number;
    if (b === 13) continue;
    if (b === 10 && last === 10) {
      split = i;
      break;
    }
    last = b;
    headerBytes.push(b);
  }
  if (split < 0) {
    return { status: 500, headers: [], body: new TextEncoder().encode(CGI_INSUFFICIENT_RESPONSE) };
  }
  const body = stdout.subarray(split + 1);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(headerBytes));
  // Later duplicates win, as in Spin's map of headers.
  const fields = new Map<string, [string, string]>();
  for (const line of text.trim().split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    fields.set(name.toLowerCase(), [name, line.slice(colon + 1).trim()]);
  }
  let status = 200;
  let explicitStatus = false;
  let sufficient = false;
  const headers: Array<[string, string]> = [];
  const statusField = fields.get('status');
  if (statusField !== undefined) {
    sufficient = true;
    explicitStatus = true;
    const code = statusField[1].split(' ')[0] ?? '';
    status = /^[1-9]\d{2}$/.test(code) ? Number(code) : 502;
  }
  for (const [lower, [, value]] of fields) {
    if (lower === 'status') continue;
    checkValue(value);
    if (lower === 'content-type') sufficient = true;
    if (lower === 'location') {
      sufficient = true;
      if (!explicitStatus) status = 302;
    }
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) continue;
    headers.push([lower, value]);
  }
  if (!sufficient) return { status: 500, headers: [], body: new TextEncoder().encode(CGI_INSUFFICIENT_RESPONSE) };
  return { status, headers, body };
}

function checkValue(value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw new Error('CGI header value contains control characters');
}

function queryOf(pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  return q < 0 ? '' : pathAndQuery.slice(q + 1);
}

function hostAndPort(hostHeader: string | undefined): { host: string; port: string } {
  let host = 'default_host';
  let port = '80';
  if (hostHeader !== undefined) {
    const colon = hostHeader.indexOf(':');
    const h = colon < 0 ? hostHeader : hostHeader.slice(0, colon);
    const p = colon < 0 ? '' : hostHeader.slice(colon + 1);
    if (h !== '') host = h;
    if (p !== '') port = p;
  }
  return { host, port };
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // Spin decodes lossily; keep what cannot be decoded as written.
    return s.replace(/(%[0-9a-fA-F]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}
