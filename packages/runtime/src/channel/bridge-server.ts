import { MessageChannel } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import { AsyncQueue } from '../async-queue.js';
import { SIGNAL_BYTES, SIGNAL_CLOSED, SIGNAL_COUNTER, SIGNAL_WAITING, type BridgeEndpoint, type CallEvent, type ToServer, type ToWorker } from './bridge-protocol.js';

/** A worker's connection, as the pool reads it. */
export interface WorkerConnection {
  endpoint: BridgeEndpoint;
  /** Counted calls running on this connection. */
  activeCalls(): number;
  /** Waits the worker counts itself (an outbound request on a lent connection). */
  waits(): number;
}

/** One call as its handler sees it. */
export interface ServerCall {
  /**
   * Sends a value to the worker before the result (a response head, a body chunk): at the end of
   * this turn of the event loop, with the other events of the turn, or with the result if that
   * comes first (buffers in `transfer` are moved then; give one a buffer of its own).
   */
  push(data: unknown, transfer?: readonly TransferListItem[]): void;
  /** Further input the worker sends for this call (`BridgeCall.send`), ended when the call ends. */
  readonly incoming: AsyncIterable<unknown>;
  /**
   * Hands further input to `listener` as it arrives, instead of through `incoming` (use one or
   * the other): no queue or iterator is made for the call.
   */
  onInput(listener: (data: unknown) => void): void;
  /** Aborted when the worker cancels the call or its connection closes (the worker stopped). */
  readonly signal: AbortSignal;
  /** Whether the call was cancelled (`signal.aborted`, without making the signal). */
  readonly cancelled: boolean;
  /**
   * Runs `listener` once when the call is cancelled (when `signal` aborts), without making an
   * AbortSignal: that costs more than the rest of a short call's bookkeeping on the main thread.
   * @returns a function that removes the listener
   */
  onCancel(listener: () => void): () => void;
  /**
   * Aborted when the calling worker's connection closes (it exited, or was terminated), even
   * after this call has ended: what the worker still holds can be taken back then.
   */
  readonly connection: AbortSignal;
}

/** Runs one method on behalf of a blocked worker; what it returns (or throws) is the call's result. */
export type BridgeHandler = (args: unknown, call: ServerCall) => unknown;

/** A handler result whose buffers are moved, not copied, to the worker. */
export class Transfer {
  readonly value: unknown;
  readonly list: readonly TransferListItem[];
  constructor(value: unknown, list: readonly TransferListItem[]) {
    this.value = value;
    this.list = list;
  }
}

/** The serving side of the blocking bridge. */
export interface BridgeServer {
  /** A new endpoint for one worker; post it to the worker with `endpoint.port` in the transfer list. */
  connect(): BridgeEndpoint;
  /**
   * {@link BridgeServer.connect}, with the calls running on that connection (a worker blocked on a
   * call has one) and, apart, the waits the worker counts itself on that connection
   * (`SyncBridge.waiting`; none once the connection closed).
   */
  connectWorker(): WorkerConnection;
  /** Calls running now, over every connection, `options.uncounted` methods left out. */
  readonly activeCalls: number;
  /** Closes every connection; running calls are aborted and blocked workers see `RUNTIME_BRIDGE_CLOSED`. */
  close(): void;
}

/**
 * One running call. Its AbortController and input queue are made only when the handler asks for
 * `signal` or `incoming` (most calls, a key-value get or a query, use neither): making them for
 * every call cost the main thread more than the rest of the call's bookkeeping.
 */
class ActiveCall {
  /** Whether it counts in `activeCalls` (request bodies do not: a worker reading one is not waiting on a capability). */
  readonly counted: boolean;
  private controller: AbortController | undefined;
  private queue: AsyncQueue<unknown> | undefined;
  private inputListener: ((data: unknown) => void) | undefined;
  private cancelListeners: Array<() => void> | undefined;
  aborted = false;
  ended = false;
  constructor(counted: boolean) {
    this.counted = counted;
  }
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }
  get incoming(): AsyncQueue<unknown> {
    if (this.queue === undefined) {
      this.queue = new AsyncQueue<unknown>();
      if (this.ended) this.queue.end();
    }
    return this.queue;
  }
  /** Input the worker sent for this call. */
  push(data: unknown): void {
    if (this.inputListener !== undefined) this.inputListener(data);
    else this.incoming.push(data);
  }
  onInput(listener: (data: unknown) => void): void {
    this.inputListener = listener;
  }
  onCancel(listener: () => void): () => void {
    if (this.aborted) {
      listener();
      return () => {};
    }
    (this.cancelListeners ??= []).push(listener);
    return () => {
      const at = this.cancelListeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.cancelListeners?.splice(at, 1);
    };
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
    const listeners = this.cancelListeners;
    this.cancelListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
  end(): void {
    this.ended = true;
    this.queue?.end();
  }
}

/** Options of {@link createBridgeServer}. */
export interface BridgeServerOptions {
  /** Methods left out of `activeCalls` (a worker in such a call is not waiting on another request). */
  uncounted?: readonly string[];
  /**
   * Whether events of one turn of the event loop go to a worker as one message (false: each at
   * once, as before; for benchmarks).
   * @default true
   */
  coalesce?: boolean;
}

/**
 * Serves blocking bridge calls with asynchronous handlers. Calls run concurrently, whatever
 * connection they come from: a worker blocked on a slow upstream never delays another.
 */
export function createBridgeServer(handlers: Readonly<Record<string, BridgeHandler>>, options: BridgeServerOptions = {}): BridgeServer {
  const coalesce = options.coalesce ?? true;
  const connections = new Set<() => void>();
  const uncounted = new Set(options.uncounted ?? []);
  let active = 0;

  const connectWorker = (): WorkerConnection => {
    let mine = 0;
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(SIGNAL_BYTES);
    const cells = new Int32Array(signal);
    const calls = new Map<number, ActiveCall>();
    let open = true;
    // Made when a handler first asks for it (most connections never do).
    let closing: AbortController | undefined;
    const connectionSignal = (): AbortSignal => {
      if (closing === undefined) {
        closing = new AbortController();
        if (!open) closing.abort();
      }
      return closing.signal;
    };

    const post = (message: ToWorker, transfer: readonly TransferListItem[] | undefined): void => {
      port1.postMessage(message, transfer);
      Atomics.add(cells, SIGNAL_COUNTER, 1);
      Atomics.notify(cells, SIGNAL_COUNTER);
    };

    // Pushes wait for the end of this turn of the event loop, and a result takes the pushes
    // waiting before it along: a small upstream response (head, body, end) or a short request
    // body arrives in one turn, and reaches the worker as one message and one wake-up.
    let held: CallEvent[] = [];
    let heldTransfer: TransferListItem[] | undefined;
    let flushing: NodeJS.Immediate | undefined;
    const flush = (): void => {
      if (flushing !== undefined) clearImmediate(flushing);
      flushing = undefined;
      if (held.length === 0 || !open) return;
      const events = held;
      const transfer = heldTransfer;
      held = [];
      heldTransfer = undefined;
      post(events.length === 1 ? (events[0] as CallEvent) : { t: 'batch', events }, transfer);
    };
    const send = (event: CallEvent, transfer?: readonly TransferListItem[]): void => {
      if (!open) return;
      if (!coalesce || (event.t === 'done' && held.length === 0)) {
        post(event, transfer);
        return;
      }
      held.push(event);
      if (transfer !== undefined && transfer.length > 0) (heldTransfer ??= []).push(...transfer);
      if (event.t === 'done') flush();
      else flushing ??= setImmediate(flush);
    };

    const shutdown = (): void => {
      if (!open) return;
      open = false;
      if (flushing !== undefined) clearImmediate(flushing);
      held = [];
      heldTransfer = undefined;
      Atomics.store(cells, SIGNAL_CLOSED, 1);
      Atomics.add(cells, SIGNAL_COUNTER, 1);
      Atomics.notify(cells, SIGNAL_COUNTER);
      for (const id of [...calls.keys()]) finish(id, true);
      closing?.abort();
      port1.close();
      connections.delete(shutdown);
    };
    connections.add(shutdown);

    const finish = (id: number, abort: boolean): void => {
      const call = calls.get(id);
      if (call === undefined) return;
      calls.delete(id);
      if (call.counted) {
        active--;
        mine--;
      }
      if (abort) call.abort();
      call.end();
    };

    const run = async (id: number, method: string, args: unknown): Promise<void> => {
      const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
      const counted = !uncounted.has(method);
      const running = new ActiveCall(counted);
      calls.set(id, running);
      if (counted) {
        active++;
        mine++;
      }
      // A call counts as active until it settles or is cancelled (a cancelled handler may linger).
      try {
        if (handler === undefined) throw new Error(`no bridge handler for ${JSON.stringify(method)}`);
        const call: ServerCall = {
          push: (data, transfer) => {
            if (!running.aborted) send({ t: 'push', id, data }, transfer);
          },
          get incoming() {
            return running.incoming;
          },
          onInput: (listener) => running.onInput(listener),
          get signal() {
            return running.signal;
          },
          get cancelled() {
            return running.aborted;
          },
          onCancel: (listener) => running.onCancel(listener),
          get connection() {
            return connectionSignal();
          },
        };
        const result = await handler(args, call);
        if (running.aborted) return;
        if (result instanceof Transfer) send({ t: 'done', id, ok: true, value: result.value }, result.list);
        else send({ t: 'done', id, ok: true, value: result });
      } catch (err) {
        if (running.aborted) return;
        const e = err as { message?: unknown; name?: unknown; code?: unknown };
        send({
          t: 'done',
          id,
          ok: false,
          error: {
            message: typeof e.message === 'string' ? e.message : String(err),
            name: typeof e.name === 'string' ? e.name : 'Error',
            code: typeof e.code === 'string' ? e.code : undefined,
          },
        });
      } finally {
        finish(id, false);
      }
    };

    port1.on('message', (msg: ToServer) => {
      if (msg.t === 'call') void run(msg.id, msg.method, msg.args);
      else if (msg.t === 'data') calls.get(msg.id)?.push(msg.data);
      else finish(msg.id, true);
    });
    // The worker's end closes when the worker exits or is terminated (deadline): stop its calls.
    port1.on('close', shutdown);
    port1.unref();
    // A closed connection's waits end with its worker.
    return { endpoint: { port: port2, signal }, activeCalls: () => mine, waits: () => (open ? Math.max(0, Atomics.load(cells, SIGNAL_WAITING)) : 0) };
  };

  return {
    connect: () => connectWorker().endpoint,
    connectWorker,
    get activeCalls() {
      return active;
    },
    close() {
      for (const shutdown of [...connections]) shutdown();
    },
  };
}
