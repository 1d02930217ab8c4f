import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { LendableSocket } from './lendable-socket.js';
import { RespConnectionError, RespServerError, encodeCommand, parseReply, type RespArg, type RespReply } from './resp-wire.js';

export { RespConnectionError, RespServerError, type RespReply } from './resp-wire.js';

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

/**
 * How to connect for a `redis://` or `rediss://` URL (`[user:password@]host[:port][/db]`), to
 * `address` (its host, resolved and checked by the caller).
 * @throws TypeError when the database is not a number
 */
export function respConnectOptions(url: URL, address: string, connectTimeoutMs?: number): RespConnectOptions {
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`invalid database number in the Redis address`);
  return {
    address,
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:' ? { servername: url.hostname.replace(/^\[|\]$/g, '') } : undefined,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db,
    connectTimeoutMs,
  };
}

type Pending = { resolve(reply: RespReply): void; reject(err: Error): void };

/** A connection lent to a worker (see {@link RespConnection.lend}). */
export interface RespLending {
  /** The socket's descriptor, for the worker's writes. */
  readonly fd: number;
  /** The write guard the worker must hold (`channel/socket-lane.ts`). */
  readonly guard: Int32Array;
}

/** One connection to a Redis server: commands in order, replies in order (pipelined). */
export class RespConnection {
  private readonly socket: Socket;
  private readonly pending: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;
  /** Told once when the connection fails while it is lent to a worker. */
  private lentFailed: ((error: Error) => void) | undefined;

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
      const s = options.tls === undefined ? new LendableSocket().connect({ host: options.address, port: options.port }) : tlsConnect({ host: options.address, port: options.port, servername: options.tls.servername });
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
   * @throws RespServerError for an error reply, RespConnectionError when the connection is gone (or lent)
   */
  command(args: readonly RespArg[]): Promise<RespReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.lent) return Promise.reject(new RespConnectionError('the connection is lent to a worker'));
    return new Promise<RespReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
  }

  /**
   * Lends the connection to a worker that writes commands and reads replies on the socket itself
   * (this side reads nothing meanwhile); `onFailure` is told once when the connection fails.
   * Undefined when it cannot be lent (TLS, a platform without descriptors, commands in flight,
   * closed); the connection is then unchanged.
   */
  lend(onFailure: (error: Error) => void): RespLending | undefined {
    const socket = this.socket;
    if (!(socket instanceof LendableSocket) || this.failure !== undefined || this.pending.length > 0 || this.buffer.length > 0) return undefined;
    const lending = socket.lend();
    if (lending !== undefined) this.lentFailed = onFailure;
    return lending;
  }

  /**
   * Ends a lending: the worker can no longer write (its guard is closed). With `clean` (the worker
   * had no command in flight) the connection parses replies again; otherwise it is closed, since
   * a reply still on its way would be taken for the next command's.
   */
  reclaim(clean: boolean): void {
    if (!this.lent) return;
    (this.socket as LendableSocket).reclaim();
    this.lentFailed = undefined;
    if (!clean) this.close();
  }

  /** Whether the connection is lent to a worker now (the worker reads the replies). */
  private get lent(): boolean {
    return this.socket instanceof LendableSocket && this.socket.lent;
  }

  /** Writes bytes a worker could not write itself (a command larger than the socket took at once). */
  writeLent(bytes: Uint8Array): void {
    if (this.lent && this.failure === undefined) this.socket.write(bytes);
  }

  close(): void {
    this.fail(new RespConnectionError('the connection to Redis was closed'));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failure === undefined) {
      this.failure = err;
      this.lentFailed?.(err);
    }
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  // While the connection is lent, the worker reads the socket, not this thread.
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
      if (parsed.broken === true) {
        // Not RESP: whatever follows cannot be matched to a command.
        this.fail(new RespServerError(parsed.error));
        this.close();
        return;
      }
    }
  }
}
