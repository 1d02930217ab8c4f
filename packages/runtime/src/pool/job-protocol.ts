/**
 * The job protocol between the pool (main thread) and a worker: one message per request each way
 * when it can be (a request head with a body flag; a whole response), the guest's output riding
 * along. Request bodies and capability calls go over the worker's blocking channel instead.
 */
import type { ExecutorErrorCode } from '../errors.js';
import type { BridgeEndpoint } from '../channel/bridge-protocol.js';
import type { GuestCapabilitiesInit } from '../guest/guest-host.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import type { WagiRequest, WagiResult } from './executor-types.js';

/** First message to a worker: everything it needs to instantiate any component of the app. */
export interface InitMessage {
  type: 'init';
  components: PreparedComponent[];
  instanceReuse: number;
  /** Fresh instances per glue build (1: jco's glue runs for every instance). */
  templateGenerations: number;
  /** The worker's blocking channel (its port is in the transfer list): request bodies and capability calls. */
  channel: BridgeEndpoint;
  /** The capabilities' worker halves. */
  capabilities: GuestCapabilitiesInit;
  /** Whether guest stdout/stderr is kept (sent to the main thread); false drops it in the worker. */
  keepLogs: boolean;
  /** One counter per component (in `components` order): the worker adds each instance it makes (worker-counters.ts). */
  instanceCounts: SharedArrayBuffer;
}

/** A wasi:http request to run. */
export interface HttpJobMessage {
  type: 'http';
  job: number;
  componentId: string;
  method: string;
  url: string;
  /** Name, value, name, value… */
  headers: string[];
  /** False when the request certainly has no body: the guest reads an empty one without asking. */
  body: boolean;
}

/** A WAGI invocation to run. */
export interface WagiJobMessage {
  type: 'wagi';
  job: number;
  componentId: string;
  request: WagiRequest;
}

/** The pool is closing and the worker is idle: close what its capabilities hold, then end the thread. */
export interface CloseMessage {
  type: 'close';
}

/** A Redis message to run; the worker answers `end` when the handler succeeded, `error` otherwise. */
export interface RedisJobMessage {
  type: 'redis';
  job: number;
  componentId: string;
  payload: Uint8Array;
}

export type ToWorker = InitMessage | HttpJobMessage | WagiJobMessage | RedisJobMessage | CloseMessage;


/** Guest output gathered during a job: component id, stream, bytes. */
export type LogBatch = Array<[componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array]>;

export type FromWorker =
  | { type: 'ready' }
  /** The response head with what body the guest wrote so far; `end` when that is the whole response. */
  | { type: 'response'; job: number; status: number; headers: string[]; body: Uint8Array | undefined; end: boolean; logs?: LogBatch }
  | { type: 'chunk'; job: number; bytes: Uint8Array }
  | { type: 'end'; job: number; logs?: LogBatch }
  | { type: 'wagi-result'; job: number; result: WagiResult; logs?: LogBatch }
  | { type: 'error'; job: number; code: ExecutorErrorCode; message: string; logs?: LogBatch }
  /** Output of a guest that writes a lot, sent before its job ends. */
  | { type: 'log'; logs: LogBatch };
