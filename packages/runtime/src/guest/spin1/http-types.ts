/**
 * Spin 1's `http-types` (wit/ephemeral/http-types.wit at v1.5.1) in guest memory, shared by the
 * inbound `handle-http-request` call and the outbound `wasi-outbound-http` import: headers are
 * lists of two strings (16 bytes each), an optional list is a flag byte with the pointer and
 * length at +4 and +8, a `response` is 28 bytes (status u16, option<headers> at 4, option<body>
 * at 16).
 */
import type { GuestMemory } from './guest-memory.js';

/** `method` enum cases, by discriminant. */
export const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'head', 'options'] as const;
/** `http-error` enum cases, by discriminant. */
export const HTTP_ERRORS = ['success', 'destination-not-allowed', 'invalid-url', 'request-error', 'runtime-error', 'too-many-requests'] as const;

/** A `list<tuple<string, string>>` (headers, params) from guest memory. */
export function readPairs(m: GuestMemory, ptr: number, len: number): Array<[string, string]> {
  return m.list(ptr, len, 16, (at) => [m.stringAt(at), m.string(m.u32(at + 8), m.u32(at + 12))] as [string, string]);
}

/** Copies headers into fresh guest memory as a `list<tuple<string, string>>`. */
export function putPairs(m: GuestMemory, pairs: ReadonlyArray<readonly [string, string]>): [number, number] {
  return m.putList(pairs, 16, 4, (at, [name, value]) => {
    m.setSlice(at, m.putString(name));
    m.setSlice(at + 8, m.putString(value));
  });
}

/** Writes `option<list<...>>` at `at` (discriminant byte, then pointer and length at +4, +8). */
export function putOptionList(m: GuestMemory, at: number, list: [number, number] | undefined): void {
  m.setU8(at, list === undefined ? 0 : 1);
  m.setU32(at + 4, list?.[0] ?? 0);
  m.setU32(at + 8, list?.[1] ?? 0);
}

/** The fermyon:spin/http-types `request` jco expects, read from the flat arguments of the old ABI. */
export interface Spin1Request {
  method: string;
  uri: string;
  headers: Array<[string, string]>;
  params: Array<[string, string]>;
  body: Uint8Array | undefined;
}

/** The fermyon:spin/http-types `response` as jco lowers it. */
export interface Spin1Response {
  status: number;
  headers: Array<[string, string]> | undefined;
  body: Uint8Array | undefined;
}

/** Writes a response record (status u16, option<headers> at 4, option<body> at 16) at `at`. */
export function putResponse(m: GuestMemory, at: number, response: Spin1Response): void {
  m.setU16(at, response.status);
  putOptionList(m, at + 4, response.headers === undefined ? undefined : putPairs(m, response.headers));
  putOptionList(m, at + 16, response.body === undefined ? undefined : m.putBytes(response.body));
}

/** Reads an `option<list<...>>` at `at`: undefined, or its pointer and length. */
export function readOptionList(m: GuestMemory, at: number): [number, number] | undefined {
  const flag = m.u8(at);
  if (flag === 0) return undefined;
  if (flag !== 1) throw new RangeError(`guest wrote option discriminant ${flag}`);
  return [m.u32(at + 4), m.u32(at + 8)];
}

/** Reads the `response` record a guest's `handle-http-request` left at `at`. */
export function readResponse(m: GuestMemory, at: number): Spin1Response {
  const headers = readOptionList(m, at + 4);
  const body = readOptionList(m, at + 16);
  return {
    status: m.u16(at),
    headers: headers === undefined ? undefined : readPairs(m, headers[0], headers[1]),
    body: body === undefined ? undefined : m.bytes(body[0], body[1]),
  };
}
