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

const CR = 0x0d;
const LF = 0x0a;

/** The digits of a non-negative integer below 2^53. */
function digitCount(n: number): number {
  let count = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) count++;
  return count;
}

/** Writes `n` (a non-negative integer below 2^53) in decimal at `at`; returns where it ends. */
function writeDecimal(buf: Buffer, at: number, n: number): number {
  const end = at + digitCount(n);
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

/** An argument as what goes on the wire: text as UTF-8, numbers as their decimal text, bytes as they are. */
function argValue(arg: RespArg): string | Uint8Array {
  return typeof arg === 'string' || arg instanceof Uint8Array ? arg : String(arg);
}

function argLength(value: string | Uint8Array): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
}

/** The size of a command as one RESP array of bulk strings. */
function commandSize(args: readonly RespArg[]): number {
  let size = 3 + digitCount(args.length);
  for (const arg of args) {
    const length = argLength(argValue(arg));
    size += 5 + digitCount(length) + length;
  }
  return size;
}

/** Writes the command at the start of `buf` (which has room: see {@link commandSize}); returns its length. */
function writeCommand(args: readonly RespArg[], buf: Buffer): number {
  buf[0] = 0x2a; // *
  let at = writeDecimal(buf, 1, args.length);
  buf[at++] = CR;
  buf[at++] = LF;
  for (const arg of args) {
    const value = argValue(arg);
    const length = argLength(value);
    buf[at++] = 0x24; // $
    at = writeDecimal(buf, at, length);
    buf[at++] = CR;
    buf[at++] = LF;
    if (typeof value === 'string') buf.write(value, at, length, 'utf8');
    else buf.set(value, at);
    at += length;
    buf[at++] = CR;
    buf[at++] = LF;
  }
  return at;
}

/** A command as one RESP array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const buf = Buffer.allocUnsafe(commandSize(args));
  writeCommand(args, buf);
  return buf;
}

/**
 * Encodes commands into one buffer it keeps and reuses (a worker's lane sends a command per
 * operation: no buffers made per command, nor joined).
 */
export class RespEncoder {
  #buffer = Buffer.allocUnsafeSlow(256);

  /** The buffer the last {@link encode} wrote to (valid until the next). */
  get bytes(): Buffer {
    return this.#buffer;
  }

  /** Encodes `args` at the start of {@link bytes}; returns the encoded length. */
  encode(args: readonly RespArg[]): number {
    const size = commandSize(args);
    if (size > this.#buffer.length) this.#buffer = Buffer.allocUnsafeSlow(Math.max(size, this.#buffer.length * 2));
    return writeCommand(args, this.#buffer);
  }
}

/** One parsed reply (or error reply) and where it ended in the buffer. */
/**
 * One parsed reply, or an error reply. `broken`: the bytes are not RESP (a malformed length, an
 * unknown type), so nothing after them can be trusted and the connection must not be used again.
 */
export type ParsedReply = { reply: RespReply; error?: undefined; end: number; broken?: undefined } | { reply?: undefined; error: string; end: number; broken?: true };

/** Where the line starting at `at` ends (its CR), or -1 when the buffer does not hold all of it. */
function lineEnd(buf: Buffer, at: number): number {
  for (let i = at; i < buf.length - 1; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return -1;
}

/** The integer written in `buf` from `at` to `end` (an optional minus, then digits), or NaN. */
function lineInteger(buf: Buffer, at: number, end: number): number {
  const negative = buf[at] === 0x2d;
  let i = negative ? at + 1 : at;
  if (i >= end || end - i > 15) return Number.NaN;
  let n = 0;
  for (; i < end; i++) {
    const digit = (buf[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

/** Parses one reply at `at`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, at: number): ParsedReply | undefined {
  if (buf.length <= at) return undefined;
  const type = buf[at];
  const eol = lineEnd(buf, at + 1);
  if (eol < 0) return undefined;
  const next = eol + 2;
  switch (type) {
    case 0x2b: // +
      return { reply: { kind: 'status', value: buf.toString('utf8', at + 1, eol) }, end: next };
    case 0x2d: // -
      return { error: buf.toString('utf8', at + 1, eol), end: next };
    case 0x3a: // :
      return { reply: { kind: 'int', value: BigInt(buf.toString('latin1', at + 1, eol)) }, end: next };
    case 0x24: {
      // $
      const len = lineInteger(buf, at + 1, eol);
      if (Number.isNaN(len)) return malformed(buf);
      if (len < 0) return { reply: { kind: 'bulk', value: null }, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { reply: { kind: 'bulk', value: new Uint8Array(buf.subarray(next, next + len)) }, end: next + len + 2 };
    }
    case 0x2a: {
      // *
      const count = lineInteger(buf, at + 1, eol);
      if (Number.isNaN(count)) return malformed(buf);
      if (count < 0) return { reply: { kind: 'array', value: null }, end: next };
      const items: RespReply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        // An error inside an array (EXEC) fails the whole reply, as Spin's client does.
        if (item.broken === true) return item;
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
      return { error: `ERR unexpected reply type ${String.fromCharCode(type ?? 0)}`, end: buf.length, broken: true };
  }
}

/** A length that is not a number: nothing after it can be trusted (the whole buffer is taken). */
function malformed(buf: Buffer): ParsedReply {
  return { error: 'ERR malformed reply length', end: buf.length, broken: true };
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
