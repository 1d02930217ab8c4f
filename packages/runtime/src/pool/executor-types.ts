/**
 * The seam between a trigger and the executor: what a request is, what its answer is, and the
 * executor's calls.
 */
import type { HttpTriggerOptions } from '../trigger/http-server.js';
import type { HttpApp } from '../trigger/trigger-config.js';

/** A request body the executor pulls as the guest reads it. */
export interface RequestBody extends AsyncIterable<Uint8Array> {
  /** True when there is certainly nothing to read (the guest sees an empty body at once). */
  readonly empty?: boolean;
  /**
   * Called when the guest will read no more (its response ended, or it failed): drop the rest
   * without keeping it. Without it, the rest is read and dropped through the iterator.
   */
  discard?(): void;
}

/** A request for a component. */
export interface GuestRequest {
  method: string;
  /** Absolute URL as the guest sees it, e.g. http://127.0.0.1:3000/api/x?y=1 */
  url: string;
  /** Every header the guest sees, the trigger's `spin-*` ones included. */
  headers: Array<[string, string]>;
  /** The body, pulled only as far as the guest reads it (may be empty). */
  body: RequestBody;
}
/** A component's answer. */
export interface GuestResponse {
  status: number;
  headers: Array<[string, string]>;
  /** The body as the guest writes it. */
  body: AsyncIterable<Uint8Array>;
  /** The whole body, when the guest had finished it before any of it was sent (so it can go out with `Content-Length`). */
  complete?: Uint8Array;
}
/**
 * "The client went away", for a caller that has its own event for it (the HTTP trigger: the
 * response closed before it finished). Cheaper than an `AbortSignal`: Node's AbortController with
 * one listener costs tens of µs per request, more than routing the request.
 */
export interface ClientGone {
  /** True once the client went away. */
  readonly gone: boolean;
  /** Calls `listener` once when the client goes away; returns a function that stops listening. */
  onGone(listener: () => void): () => void;
}
/** How one request is run. */
export interface ExecuteOptions {
  /** Aborted when the client went away. */
  signal?: AbortSignal;
  /** The same as `signal`, without an AbortController per request; used instead of `signal` when both are given. */
  clientGone?: ClientGone;
  /** Longest the guest may run, counted from when it starts (queue time excluded); then `RUNTIME_TIMEOUT`. */
  timeoutMs?: number;
  /** Epoch ms: past it the guest is stopped, queued or not, and `RUNTIME_TIMEOUT` is thrown. */
  deadline?: number;
}
/** Runs requests against an app's components; one fresh instance per request unless reuse is configured. */
export interface Executor {
  /** componentId is the locked component id; kind chooses wasi:http handling or WAGI (CGI over preview1). */
  handle(componentId: string, request: GuestRequest, options?: ExecuteOptions): Promise<GuestResponse>;
  /**
   * Runs a WAGI core module (executor = { type = "wagi" }) with a CGI request built by the trigger;
   * its preopens are the component's own `files` mounts, as prepared at load.
   */
  runWagi(componentId: string, request: WagiRequest, options?: ExecuteOptions): Promise<WagiResult>;
  /**
   * Runs one Redis message in a fresh instance of a component a Redis trigger names; rejects when
   * the handler fails (executors without Redis components need not have it).
   */
  handleRedisMessage?(componentId: string, payload: Uint8Array, options?: ExecuteOptions): Promise<void>;
  /**
   * Starts worker threads that serve HTTP themselves on `request.address` (the trigger's
   * `serveFromWorkers` mode; executors without it are served from the main thread).
   * @throws ListenError as the trigger's `listen`
   */
  serveHttp?(request: ServeHttpRequest): Promise<WorkerServing>;
  close(): Promise<void>;
}
/** What the trigger asks of {@link Executor.serveHttp}: its app, its options that cross threads, and where to listen. */
export interface ServeHttpRequest {
  app: HttpApp;
  options: Omit<HttpTriggerOptions, 'app' | 'executor' | 'serveFromWorkers'>;
  /** `host:port`, as the trigger's `listen` takes it. */
  address: string;
  findFreePort: boolean;
}
/** Worker threads serving HTTP (see {@link Executor.serveHttp}). */
export interface WorkerServing {
  /** The bound address and port. */
  readonly address: string;
  readonly port: number;
  /** Requests the workers are answering now. */
  inFlight(): number;
  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`, then cuts them), stops the workers. */
  close(timeoutMs: number): Promise<void>;
}
/** A WAGI request as the trigger builds it. */
export interface WagiRequest {
  /** CGI environment (§7.6) built by the trigger, argv from the executor's argv template */
  env: Array<[string, string]>;
  argv: string[];
  stdin: Uint8Array;
}
/** One run of a WAGI module: the request and the directories it may read. */
export interface WagiInvocation extends WagiRequest {
  /** guest path → host directory, read-only */
  preopens: Array<[string, string]>;
}
export interface WagiResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}
