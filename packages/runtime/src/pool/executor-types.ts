// packages/runtime/src/engine/executor-types.ts
export interface GuestRequest {
  method: string;
  /** Absolute URL as the guest sees it, e.g. http://127.0.0.1:3000/api/x?y=1 */
  url: string;
  headers: Array<[string, string]>; // includes the spin-* headers added by the trigger
  body: AsyncIterable<Uint8Array>; // streamed request body (may be empty)
}
export interface GuestResponse {
  status: number;
  headers: Array<[string, string]>;
  body: AsyncIterable<Uint8Array>; // streamed response body
}
export interface ExecuteOptions {
  signal?: AbortSignal; // client went away
  deadline?: number; // epoch ms; past it the instance is stopped and ExecutorError code RUNTIME_TIMEOUT is thrown
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
  close(): Promise<void>;
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
