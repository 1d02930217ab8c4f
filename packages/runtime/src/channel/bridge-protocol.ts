/**
 * Messages of the blocking bridge between a worker (which blocks on `Atomics.wait`) and the
 * thread that does its asynchronous I/O. Internal to the bridge's two halves.
 */
import type { MessagePort } from 'node:worker_threads';

/** What a worker needs to reach the serving side: post it to the worker with `port` in the transfer list. */
export interface BridgeEndpoint {
  port: MessagePort;
  /** Int32 cells: [0] bumped after each message to the worker, [1] set to 1 when the serving side closed. */
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

/** Serving side → worker. */
export type ToWorker =
  | { t: 'push'; id: number; data: unknown }
  | { t: 'done'; id: number; ok: true; value: unknown }
  | { t: 'done'; id: number; ok: false; error: RemoteError };

export const SIGNAL_COUNTER = 0;
export const SIGNAL_CLOSED = 1;
