/**
 * A Redis connection lent to this worker (`RedisService.lend`): the worker encodes each command
 * and writes it on the socket itself, and reads the reply from the chunks the main thread
 * forwards over the lending call. One thread wake-up fewer per command than a channel call (no
 * message wakes the main thread before the write), and nothing for the main thread to parse.
 * Made by `redis.ts` when `RedisService.openLent` grants the connection.
 */
import type { BridgeCall } from '../../channel/sync-bridge.js';
import { laneClosed, laneWrite } from '../../channel/socket-lane.js';
import { redisCommand, redisFailure, redisReplyValue, changesSession, type RedisCommandOp, type RedisError } from '../../services/redis-commands.js';
import { RespConnectionError, RespServerError, encodeCommand, parseReply, type RespReply } from '../../services/resp-wire.js';
import type { Outcome } from '../../services/service-outcome.js';

/** A command the socket did not take at once goes to the main thread above this size without trying. */
const DIRECT_WRITE_MAX = 256 * 1024;

/** One lent connection, for as long as the lending call runs. */
export class RedisLane {
  private readonly call: BridgeCall;
  private readonly fd: number;
  private readonly guard: Int32Array;
  private buffer: Buffer = Buffer.alloc(0);
  private failure: string | undefined;
  /** A command was written whose reply has not been read whole (the connection must not be pooled). */
  private inFlight = false;
  /** A command changed the connection's session (SELECT, MULTI …): it must not be pooled either. */
  private sessionChanged = false;
  private ended = false;

  constructor(call: BridgeCall, fd: number, guard: SharedArrayBuffer) {
    this.call = call;
    this.fd = fd;
    this.guard = new Int32Array(guard);
  }

  /** Whether this lending still carries commands. */
  get usable(): boolean {
    return !this.ended && this.failure === undefined && !laneClosed(this.guard);
  }

  /** Runs one operation: the interface's value, or its error (never thrown). */
  run<T>(op: RedisCommandOp, args: readonly unknown[]): Outcome<T, RedisError> {
    if (op === 'execute' && changesSession(args[0] as string)) this.sessionChanged = true;
    let reply: RespReply;
    try {
      reply = this.command(encodeCommand(redisCommand(op, args)));
    } catch (e) {
      return { ok: false, error: redisFailure(e) };
    }
    const result = redisReplyValue(op, reply);
    return 'error' in result ? { ok: false, error: result.error } : { ok: true, value: result.value as T };
  }

  /** Gives the connection back: to the pool when no reply is outstanding and the session is as it was. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      if (!this.inFlight && !this.sessionChanged && this.failure === undefined) this.call.send({ clean: true });
    } finally {
      this.call.cancel();
    }
  }

  private command(bytes: Buffer): RespReply {
    if (this.ended) throw new RespConnectionError('the connection was released');
    if (this.failure !== undefined) throw new RespConnectionError(this.failure);
    this.inFlight = true;
    const written = bytes.length > DIRECT_WRITE_MAX ? 0 : laneWrite(this.guard, this.fd, bytes);
    if (written === undefined) throw new RespConnectionError('the connection to Redis was closed');
    // What the socket did not take now, the main thread writes (it waits for the socket to drain).
    if (written < bytes.length) this.call.send(bytes.subarray(written));
    for (;;) {
      const parsed = parseReply(this.buffer, 0);
      if (parsed !== undefined) {
        this.buffer = this.buffer.subarray(parsed.end);
        this.inFlight = false;
        if (parsed.error !== undefined) throw new RespServerError(parsed.error);
        return parsed.reply;
      }
      const event = this.call.next();
      if (event?.kind === 'push' && event.data instanceof Uint8Array) {
        const chunk = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength);
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
        continue;
      }
      // The connection failed, or the lending ended under us (released, the service closing).
      this.failure = event?.kind === 'push' && isFailure(event.data) ? event.data.failed : 'the connection to Redis closed';
      throw new RespConnectionError(this.failure);
    }
  }
}

function isFailure(data: unknown): data is { failed: string } {
  return typeof data === 'object' && data !== null && typeof (data as { failed?: unknown }).failed === 'string';
}
