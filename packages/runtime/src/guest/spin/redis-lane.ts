/**
 * A Redis connection lent to this worker (`RedisService.openLent`): the worker encodes each
 * command and writes it on the socket itself, and reads the reply from it too. Only the server
 * and this worker wake per command, not the main thread, which has nothing to parse either.
 * Made by `redis.ts` when `RedisService.openLent` grants the connection.
 */
import type { BridgeCall } from '../../channel/sync-bridge.js';
import { redisCommand, redisFailure, redisReplyValue, changesSession, type RedisCommandOp, type RedisError } from '../../services/redis-commands.js';
import { RespConnectionError, RespEncoder, RespServerError, parseReply, type RespArg, type RespReply } from '../../services/resp-wire.js';
import type { Outcome } from '../../services/service-outcome.js';
import { LentSocket } from './lent-socket.js';

/** One lent connection, for as long as the lending call runs. */
export class RedisLane extends LentSocket {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly encoder = new RespEncoder();
  /** A command changed the connection's session (SELECT, MULTI …): it must not be pooled either. */
  private sessionChanged = false;

  constructor(call: BridgeCall, fd: number, guard: SharedArrayBuffer) {
    super(call, fd, guard, 'the connection to Redis was closed');
  }

  /** Runs one operation: the interface's value, or its error (never thrown). */
  run<T>(op: RedisCommandOp, args: readonly unknown[]): Outcome<T, RedisError> {
    if (op === 'execute' && changesSession(args[0] as string)) this.sessionChanged = true;
    let reply: RespReply;
    try {
      reply = this.command(redisCommand(op, args));
    } catch (e) {
      return { ok: false, error: redisFailure(e) };
    }
    const result = redisReplyValue(op, reply);
    return 'error' in result ? { ok: false, error: result.error } : { ok: true, value: result.value as T };
  }

  /**
   * To the pool when no reply is outstanding, the session is as it was, and the server sent
   * nothing past the last reply (the main thread's parser would take it for the next one's).
   */
  protected releaseClean(): object | undefined {
    return this.sessionChanged || this.buffer.length > 0 ? undefined : { clean: true };
  }

  /**
   * Sends one command and returns its reply (the key-value store's commands, `key-value-lane.ts`).
   * @throws RespServerError for an error reply, RespConnectionError when the connection failed or was released
   */
  command(args: readonly RespArg[]): RespReply {
    const length = this.encoder.encode(args);
    const refused = this.begin('a reply of an interrupted command is still outstanding');
    if (refused !== undefined) throw new RespConnectionError('released' in refused ? 'the connection was released' : refused.failed);
    if (!this.write(this.encoder.bytes, length)) throw new RespConnectionError(this.failure ?? 'the connection to Redis was closed');
    for (;;) {
      const parsed = parseReply(this.buffer, 0);
      if (parsed !== undefined) {
        this.buffer = this.buffer.subarray(parsed.end);
        this.inFlight = false;
        // Bytes that are not RESP: the lane is failed, so it is neither used again nor pooled.
        if (parsed.broken === true) this.failure ??= `the Redis server sent a reply that is not RESP (${parsed.error})`;
        if (parsed.error !== undefined) throw new RespServerError(parsed.error);
        return parsed.reply;
      }
      const chunk = this.nextChunk('the connection to Redis closed');
      if (chunk === undefined) throw new RespConnectionError(this.failure ?? 'the connection to Redis closed');
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    }
  }
}
