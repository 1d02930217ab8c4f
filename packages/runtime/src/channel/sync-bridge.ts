import { receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { BridgeError } from '../errors.js';
import { SIGNAL_CLOSED, SIGNAL_COUNTER, SIGNAL_WAITING, type BridgeEndpoint, type CallEvent, type RemoteError, type ToServer, type ToWorker } from './bridge-protocol.js';

/** Something that happened to a started call: a value the serving side pushed, its result, or its failure. */
export type BridgeEvent = { kind: 'push'; data: unknown } | { kind: 'done'; value: unknown } | { kind: 'error'; error: BridgeError };

/** A call started with {@link SyncBridge.start}: the worker keeps running while the serving side works on it. */
export interface BridgeCall {
  readonly id: number;
  /** Sends more input to the handler (it reads it from `call.incoming`); nothing once the call's end has arrived. */
  send(data: unknown, transfer?: readonly TransferListItem[]): void;
  /** The next event without blocking, or `undefined` when none has arrived yet. */
  take(): BridgeEvent | undefined;
  /** The next event, blocking the thread up to `timeoutMs` (default: until one arrives). */
  next(timeoutMs?: number): BridgeEvent | undefined;
  /** Whether an event is waiting (never blocks). */
  ready(): boolean;
  /** Tells the serving side to stop the call (its `signal` aborts); later events are dropped. */
  cancel(): void;
  /** Whether the call was cancelled: no event will come that has not come. */
  cancelled(): boolean;
  /**
   * Runs the bridge's `beforeWait` (the worker flushes a response held back): the worker is
   * blocked on something of this call's other than the bridge (a lent socket's replies).
   */
  idle(): void;
}

/** The worker's side of the blocking bridge. */
export interface SyncBridge {
  /**
   * Runs `method` on the serving side and blocks this thread until its result arrives.
   * @throws BridgeError `RUNTIME_BRIDGE_CALL_FAILED` when the handler failed (its code in `remoteCode`), `RUNTIME_BRIDGE_CLOSED` when the serving side is gone
   */
  call<T = unknown>(method: string, args?: unknown, transfer?: readonly TransferListItem[]): T;
  /** Starts `method` without waiting for it (streamed results, uploads). */
  start(method: string, args?: unknown, transfer?: readonly TransferListItem[]): BridgeCall;
  /** Blocks until any message from the serving side arrives, or `ms` passes (Infinity: no limit). */
  wait(ms: number): void;
  /**
   * Counts (`+1`) or uncounts (`-1`) a wait of this worker's on something outside the bridge's
   * calls that another request of the app may be needed to end: an outbound request on a
   * connection lent to the worker, which may reach the app itself by an address not known as its
   * own. The serving side reads them per connection (`WorkerConnection.waits`), so a pool whose
   * every worker waits so starts another. A shared cell, no message.
   */
  waiting(delta: 1 | -1): void;
  /** Stops every open call and detaches from the port. */
  close(): void;
}

/**
 * Attaches a worker to the serving side of a blocking bridge (see `createBridgeServer`). Calls
 * block the calling thread on `Atomics.wait`; results arrive on the endpoint's port and are read
 * with `receiveMessageOnPort`, so the worker needs no event-loop turn while a guest runs.
 * The worker sleeps until the serving side's next message: polling for it first made calls no
 * quicker on a machine whose cores are busy (see the runtime README). `options.beforeWait` runs
 * before every wait (the worker flushes a response held back).
 */
export function createSyncBridge(endpoint: BridgeEndpoint, options: { beforeWait?: () => void } = {}): SyncBridge {
  const beforeWait = options.beforeWait;
  const port: MessagePort = endpoint.port;
  const signal = new Int32Array(endpoint.signal);
  const queues = new Map<number, BridgeEvent[]>();
  let nextId = 1;
  let closed = false;

  const post = (message: ToServer, transfer?: readonly TransferListItem[]): void => {
    if (closed) throw new BridgeError('RUNTIME_BRIDGE_CLOSED', 'the blocking bridge is closed; the host side has stopped');
    port.postMessage(message, transfer);
  };

  const deliver = (msg: CallEvent): void => {
    const queue = queues.get(msg.id);
    if (queue === undefined) return; // cancelled call
    if (msg.t === 'push') queue.push({ kind: 'push', data: msg.data });
    else if (msg.ok) queue.push({ kind: 'done', value: msg.value });
    else queue.push({ kind: 'error', error: remoteFailure(msg.error) });
  };

  const drain = (): boolean => {
    let got = false;
    for (;;) {
      const received = receiveMessageOnPort(port);
      if (received === undefined) return got;
      got = true;
      const msg = received.message as ToWorker;
      if (msg.t === 'batch') for (const event of msg.events) deliver(event);
      else deliver(msg);
    }
  };

  const serverClosed = (): boolean => Atomics.load(signal, SIGNAL_CLOSED) === 1;

  const wait = (ms: number): void => {
    const seen = Atomics.load(signal, SIGNAL_COUNTER);
    // The serving side posts before it bumps the counter: anything sent before `seen` is in the port now.
    if (drain()) return;
    if (serverClosed()) return;
    // The worker is about to sleep: let it first send what may be waited for on the other side.
    if (beforeWait !== undefined) {
      beforeWait();
      if (drain()) return;
    }
    Atomics.wait(signal, SIGNAL_COUNTER, seen, ms === Infinity ? undefined : ms);
  };

  const closedError = (): BridgeError => new BridgeError('RUNTIME_BRIDGE_CLOSED', 'the host side of the blocking bridge closed before the call finished');
  const closedEvent = (): BridgeEvent => ({ kind: 'error', error: closedError() });

  const start = (method: string, args?: unknown, transfer?: readonly TransferListItem[]): BridgeCall => {
    const id = nextId++;
    const queue: BridgeEvent[] = [];
    queues.set(id, queue);
    post({ t: 'call', id, method, args }, transfer);
    let finished = false;
    let cancelled = false;
    const take = (): BridgeEvent | undefined => {
      if (queue.length === 0) drain();
      const event = queue.shift();
      if (event === undefined && serverClosed() && !finished) {
        finished = true;
        queues.delete(id);
        return closedEvent();
      }
      if (event !== undefined && event.kind !== 'push') {
        finished = true;
        queues.delete(id);
      }
      return event;
    };
    return {
      id,
      send(data, list) {
        // Once the call's end is here (it came with the pushes before it), the serving side has
        // finished the call and would drop the input: not sending it spares the main thread a wake-up.
        if (finished || queue[queue.length - 1]?.kind === 'done' || queue[queue.length - 1]?.kind === 'error') return;
        post({ t: 'data', id, data }, list);
      },
      take,
      ready() {
        if (queue.length === 0) drain();
        return queue.length > 0 || serverClosed();
      },
      next(timeoutMs = Infinity) {
        const until = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
        for (;;) {
          const event = take();
          if (event !== undefined || finished) return event;
          const left = until === Infinity ? Infinity : until - Date.now();
          if (left <= 0) return undefined;
          wait(left);
        }
      },
      idle() {
        beforeWait?.();
      },
      cancel() {
        if (finished) return;
        finished = true;
        cancelled = true;
        queues.delete(id);
        if (!closed) port.postMessage({ t: 'cancel', id } satisfies ToServer);
      },
      cancelled: () => cancelled,
    };
  };

  return {
    // What `start(…).next()` in a loop does, without the call object: a capability call is the
    // worker's most frequent trip to the main thread.
    call<T>(method: string, args?: unknown, transfer?: readonly TransferListItem[]): T {
      const id = nextId++;
      const queue: BridgeEvent[] = [];
      queues.set(id, queue);
      post({ t: 'call', id, method, args }, transfer);
      for (;;) {
        if (queue.length === 0) drain();
        const event = queue.shift();
        if (event === undefined) {
          if (serverClosed()) {
            queues.delete(id);
            throw closedError();
          }
          wait(Infinity);
          continue;
        }
        if (event.kind === 'push') continue;
        queues.delete(id);
        if (event.kind === 'error') throw event.error;
        return event.value as T;
      }
    },
    start,
    wait,
    waiting(delta) {
      Atomics.add(signal, SIGNAL_WAITING, delta);
    },
    close() {
      if (closed) return;
      for (const id of queues.keys()) port.postMessage({ t: 'cancel', id } satisfies ToServer);
      queues.clear();
      closed = true;
      port.close();
    },
  };
}

function remoteFailure(error: RemoteError): BridgeError {
  return new BridgeError('RUNTIME_BRIDGE_CALL_FAILED', error.message, error.code === undefined ? undefined : { remoteCode: error.code });
}
