/**
 * Messages of the blocking bridge between a worker (which blocks on `Atomics.wait`) and the
 * thread that does its asynchronous I/O. Internal to the bridge's two halves.
 */
import type { MessagePort } from 'node:worker_threads';

/** What a worker needs to reach the serving side: post it to the worker with `port` in the transfer list. */
export interface BridgeEndpoint {
  port: MessagePort;
  /**
   * Int32 cells: [0] bumped after each message to the worker, [1] set to 1 when the serving side
   * closed, [2] the worker's waits on the app outside the bridge's calls (see `SyncBridge.waiting`).
   */
  signal: SharedArrayBuffer;
}

/** Worker → serving side. */
export type ToServer =
  | { t: 'call'; id: number; method: string; args: unknown }
  | { t: 'data'; id: number; data: unknown }
  | { t: 'cancel'; id: number };

/** A handler's failure as it crosses the thread boundary. */
export interface RemoteError {
  message: string;
  name: string;
  code: string | undefined;
}

/** One event of a call, serving side → worker. */
export type CallEvent =
  | { t: 'push'; id: number; data: unknown }
  | { t: 'done'; id: number; ok: true; value: unknown }
  | { t: 'done'; id: number; ok: false; error: RemoteError };

/**
 * Serving side → worker: one event, or several sent together (in the order they happened) when
 * they came within one turn of the serving side's event loop — one message and one wake-up of
 * the worker instead of one per event.
 */
export type ToWorker = CallEvent | { t: 'batch'; events: CallEvent[] };

export const SIGNAL_COUNTER = 0;
export const SIGNAL_CLOSED = 1;
export const SIGNAL_WAITING = 2;
/** Bytes of the signal buffer (three cells). */
export const SIGNAL_BYTES = 12;
