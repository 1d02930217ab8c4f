import type { ExecutorErrorCode } from '../errors.js';
import type { WagiRequest, WagiResult } from './executor-types.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import type { GuestHostInit } from '../guest/guest-host.js';

/** First message to a worker: everything it needs to instantiate any component of the app. */
export interface InitMessage {
  type: 'init';
  components: PreparedComponent[];
  instanceReuse: number;
  /** Fresh instances per glue build (1: jco's glue runs for every instance). */
  templateGenerations: number;
  /** Request bodies arrive on this port, read synchronously while the guest runs. */
  bodyPort: MessagePort;
  /** Bumped (and notified) by the main thread after each body message. */
  signal: SharedArrayBuffer;
  /** The capabilities' worker halves and the worker's channel to them (its port is in the transfer list). */
  capabilities?: GuestHostInit;
}

/** A wasi:http request to run. */
export interface HttpJobMessage {
  type: 'http';
  job: number;
  componentId: string;
  method: string;
  url: string;
  headers: Array<[string, string]>;
}

/** A WAGI invocation to run. */
export interface WagiJobMessage {
  type: 'wagi';
  job: number;
  componentId: string;
  request: WagiRequest;
}

export type ToWorker = InitMessage | HttpJobMessage | WagiJobMessage;

/** A piece of a request body, sent on the body port. */
export type BodyMessage = { job: number; chunk: Uint8Array } | { job: number; end: true };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'head'; job: number; status: number; headers: Array<[string, Uint8Array]> }
  | { type: 'chunk'; job: number; bytes: Uint8Array }
  | { type: 'end'; job: number }
  | { type: 'wagi-result'; job: number; result: WagiResult }
  | { type: 'error'; job: number; code: ExecutorErrorCode; message: string }
  | { type: 'log'; componentId: string; stream: 'stdout' | 'stderr'; bytes: Uint8Array };
