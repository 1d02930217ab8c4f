/**
 * RESP2, the Redis wire format, with no I/O: encoding a command and parsing replies. Used by the
 * main thread's connections (`resp-connection.ts`) and by a worker writing commands on a lent
 * connection itself (`guest/spin/redis-lane.ts`), so both read replies the same way.
 */

/**
 * A Redis reply as RESP2 gives it. Status replies and bulk strings stay apart: the Redis
 * interfaces' `execute` returns them as different cases (`status` and `binary`), and Node's
 * Redis clients hand both back as the same Buffer, which is why the services speak RESP here.
 */
export type RespReply = { kind: 'status'; value: string } | { kind: 'int'; value: bigint } | { kind: 'bulk'; value: Uint8Array | null } | { kind: 'array'; value: RespReply[] | null };

/** An error reply from the server (`-ERR ...`, `-WRONGTYPE ...`). */
export class RespServerError extends Error {
  /** The first word of the reply: `ERR`, `WRONGTYPE`, `WRONGPASS`, `NOAUTH` … */
  readonly prefix: string;
  constructor(message: string) {
    super(message);
    this.name = 'RespServerError';
    this.prefix = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
  }
}

/** The connection closed or failed; pending and later commands fail with it. */
export class RespConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RespConnectionError';
  }
}

/** One command argument: text and numbers as their decimal text, bytes as they are. */
export type RespArg = string | Uint8Array | bigint | number;

const CRLF = Buffer.from('\r\n');

/** A command as one RESP array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' || typeof arg === 'bigint' || typeof arg === 'number' ? Buffer.from(String(arg)) : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** One parsed reply (or error reply) and where it ended in the buffer. */
export type ParsedReply = { reply: RespReply; error?: undefined; end: number } | { reply?: undefined; error: string; end: number };

/** Parses one reply at `at`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, at: number): ParsedReply | undefined {
  if (buf.length <= at) return undefined;
  const type = buf[at];
  const eol = buf.indexOf(CRLF, at + 1);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case 0x2b: // +
      return { reply: { kind: 'status', value: line }, end: next };
    case 0x2d: // -
      return { error: line, end: next };
    case 0x3a: // :
      return { reply: { kind: 'int', value: BigInt(line) }, end: next };
    case 0x24: {
      // $
      const len = Number(line);
      if (len < 0) return { reply: { kind: 'bulk', value: null }, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { reply: { kind: 'bulk', value: new Uint8Array(buf.subarray(next, next + len)) }, end: next + len + 2 };
    }
    case 0x2a: {
      // *
      const count = Number(line);
      if (count < 0) return { reply: { kind: 'array', value: null }, end: next };
      const items: RespReply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        // An error inside an array (EXEC) fails the whole reply, as Spin's client does.
        if (item.error !== undefined) {
          const end = skipRest(buf, item.end, count - i - 1);
          return end === undefined ? undefined : { error: item.error, end };
        }
        items.push(item.reply);
        pos = item.end;
      }
      return { reply: { kind: 'array', value: items }, end: pos };
    }
    default:
      return { error: `ERR unexpected reply type ${String.fromCharCode(type ?? 0)}`, end: buf.length };
  }
}

function skipRest(buf: Buffer, at: number, remaining: number): number | undefined {
  let pos = at;
  for (let i = 0; i < remaining; i++) {
    const item = parseReply(buf, pos);
    if (item === undefined) return undefined;
    pos = item.end;
  }
  return pos;
}
