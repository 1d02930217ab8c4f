/** Answers the trigger writes itself (well-known endpoints, static responses, errors, WAGI output). */
import type * as http from 'node:http';

/** Writes a whole response with `Content-Length`. */
export function send(res: http.ServerResponse, status: number, headers: Array<[string, string]>, body: string | Uint8Array | undefined): void {
  const flat: string[] = [];
  for (const [k, v] of headers) flat.push(k, v);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  flat.push('content-length', String(bytes?.length ?? 0));
  res.writeHead(status, flat);
  res.end(bytes);
}

