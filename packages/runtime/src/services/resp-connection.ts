import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

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

/** Where and how to connect. */
export interface RespConnectOptions {
  /** The address to connect to (already resolved and checked). */
  address: string;
  port: number;
  /** TLS (`rediss://`), verified against `servername`. */
  tls?: { servername: string } | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Database selected after connecting. @default 0 */
  db?: number | undefined;
  /** @default 10000 */
  connectTimeoutMs?: number | undefined;
}

type Pending = { resolve(reply: RespReply): void; reject(err: Error): void };

const CRLF = Buffer.from('\r\n');

/** One connection to a Redis server: commands in order, replies in order (pipelined). */
export class RespConnection {
  private readonly socket: Socket;
  private readonly pending: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new RespConnectionError(`connection to Redis failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new RespConnectionError('the connection to Redis closed')));
  }

  /**
   * Connects, authenticates (`AUTH [user] password`) and selects the database.
   * @throws RespConnectionError (network), RespServerError (authentication refused, bad database)
   */
  static async connect(options: RespConnectOptions): Promise<RespConnection> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s =
        options.tls === undefined
          ? netConnect({ host: options.address, port: options.port })
          : tlsConnect({ host: options.address, port: options.port, servername: options.tls.servername });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RespConnectionError(`connecting to Redis timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new RespConnectionError(`cannot connect to Redis: ${err.message}`, { cause: err }));
      });
    });
    socket.setNoDelay(true);
    const conn = new RespConnection(socket);
    try {
      if (options.password !== undefined && options.password !== '') {
        const auth = options.username !== undefined && options.username !== '' ? ['AUTH', options.username, options.password] : ['AUTH', options.password];
        await conn.command(auth);
      }
      if (options.db !== undefined && options.db !== 0) await conn.command(['SELECT', String(options.db)]);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** Whether the connection is still usable. */
  get open(): boolean {
    return this.failure === undefined;
  }

  /**
   * Sends one command and resolves with its reply.
   * @throws RespServerError for an error reply, RespConnectionError when the connection is gone
   */
  command(args: ReadonlyArray<string | Uint8Array | bigint | number>): Promise<RespReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = typeof arg === 'string' || typeof arg === 'bigint' || typeof arg === 'number' ? Buffer.from(String(arg)) : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
    }
    return new Promise<RespReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(Buffer.concat(parts));
    });
  }

  close(): void {
    this.fail(new RespConnectionError('the connection to Redis was closed'));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failure === undefined) this.failure = err;
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parseReply(this.buffer, 0);
      if (parsed === undefined) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const waiter = this.pending.shift();
      if (waiter === undefined) {
        // A reply nobody asked for (a push after SUBSCRIBE): the connection is no longer usable.
        this.close();
        return;
      }
      if (parsed.error !== undefined) waiter.reject(new RespServerError(parsed.error));
      else waiter.resolve(parsed.reply);
    }
  }
}

type Parsed = { reply: RespReply; error?: undefined; end: number } | { reply?: undefined; error: string; end: number };

function lineEnd(buf: Buffer, from: number): number {
  const at = buf.indexOf(CRLF, from);
  return at;
}

/** Parses one reply at `at`; undefined when the buffer does not hold all of it yet. */
function parseReply(buf: Buffer, at: number): Parsed | undefined {
  if (buf.length <= at) return undefined;
  const type = buf[at];
  const eol = lineEnd(buf, at + 1);
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
