/**
 * The job protocol between the pool (main thread) and a worker: one message per request each way
 * when it can be (a request head with a body flag; a whole response), the guest's output riding
 * along. Request bodies and capability calls go over the worker's blocking channel instead.
 */
import type { ExecutorErrorCode } from '../errors.js';
import type { BridgeEndpoint } from '../channel/bridge-protocol.js';
import type { GuestCapabilitiesInit } from '../guest/guest-host.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import type { GlueScript } from '../prepare/glue-script.js';
import type { WagiRequest, WagiResult } from './executor-types.js';
import type { HttpTriggerOptions } from '../trigger/http-server.js';
import type { HttpApp } from '../trigger/trigger-config.js';

/**
 * How a worker loads a component's jco glue: the script with its V8 code cache when prepare made
 * one, else the module's `data:` URL — one of them, so the other is neither kept nor copied to
 * every worker.
 */
export type WorkerGlue = { script: GlueScript } | { url: string };

/** A prepared component as a worker gets it: its glue in one field (undefined: a core module, WAGI or Spin 1). */
export type WorkerComponent = Omit<PreparedComponent, 'glueUrl' | 'glueScript'> & { glue: WorkerGlue | undefined };

/** The form of `prepared` posted to workers. */
export function workerComponent(prepared: PreparedComponent): WorkerComponent {
  const { glueUrl, glueScript, ...rest } = prepared;
  const glue: WorkerGlue | undefined = glueScript !== undefined ? { script: glueScript } : glueUrl !== undefined ? { url: glueUrl } : undefined;
  return { ...rest, glue };
}

/** First message to a worker: everything it needs to instantiate any component of the app. */
export interface InitMessage {
  type: 'init';
  components: WorkerComponent[];
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

/**
 * Serve HTTP from this worker (the pool's `serveFromWorkers` mode, pool/serving-workers.ts): the
 * worker runs the HTTP trigger itself on a listening socket it shares with the other serving
 * workers, and runs each request's guest inline, without the main thread.
 */
export interface ServeMessage {
  type: 'serve';
  /** The app's triggers and metadata (the locked app). */
  app: HttpApp;
  /** The trigger's options that cross threads (everything but the executor). */
  options: Omit<HttpTriggerOptions, 'app' | 'executor'>;
  /** Listen on this address (the first serving worker binds it), or on `fd`, the listening socket another serving worker bound to `bound` (checked: the number may have been reused). */
  listen: { address: string; findFreePort: boolean } | { fd: number; bound: { address: string; port: number } };
  /** Requests this worker is answering now, at `Int32Array` index `slot` (the trigger's `inFlight`). */
  inFlight: SharedArrayBuffer;
  slot: number;
}

/** Stop accepting, let in-flight requests finish (up to `timeoutMs`), then answer `drained`. */
export interface DrainMessage {
  type: 'drain';
  timeoutMs: number;
}

export type ToWorker = InitMessage | HttpJobMessage | WagiJobMessage | RedisJobMessage | CloseMessage | ServeMessage | DrainMessage;

/** An event a serving worker's trigger published (a channel does not cross threads): the main thread publishes it again with its app object. */
export type ForwardedEvent =
  | { channel: 'request-error'; componentId: string; error: { name: string; message: string; code?: string } }
  | { channel: 'not-found'; path: string }
  | { channel: 'guest-error'; componentId: string; code: ExecutorErrorCode; message: string };


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
  | { type: 'log'; logs: LogBatch }
  /** A serving worker listens: on `fd` (the shared listening socket), bound to `address`:`port`. */
  | { type: 'listening'; fd: number; address: string; port: number }
  /** A serving worker could not listen. */
  | { type: 'serve-failed'; code: string; message: string }
  | { type: 'event'; event: ForwardedEvent }
  /** A serving worker finished draining (after `drain`). */
  | { type: 'drained' };
