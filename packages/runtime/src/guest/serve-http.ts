/**
 * A serving worker (worker thread, the `serveFromWorkers` mode of pool/serving-workers.ts): the
 * HTTP trigger (trigger/http-server.ts) runs in this thread on a listening socket shared by every
 * serving worker, and its executor runs each request's guest here, inline, through the same code
 * as a pool job (worker-entry.ts). The main thread never sees the request: no hand-off either way.
 *
 * What differs from the pool, and why:
 * - the request body is read whole before the guest starts (the guest cannot block on a socket
 *   its own thread reads), bounded by `maxBodyBytes` (413 beyond), and the response is collected
 *   whole before it is written (with `Content-Length`);
 * - a deadline stops the guest in this thread (a `node:vm` timeout interrupts the running Wasm or
 *   a blocked channel wait) instead of terminating the worker, so the worker's other connections
 *   live on; the request gets 500 as in the pool;
 * - a guest blocked on a capability call holds this worker's other connections until it returns.
 */
import { subscribe } from 'node:diagnostics_channel';
import { Script, createContext } from 'node:vm';
import { ExecutorError, GuestFaultError } from '../errors.js';
import { RUNTIME_CHANNELS, type NotFoundEvent, type RequestErrorEvent } from '../events.js';
import type { ExecuteOptions, Executor, GuestRequest, GuestResponse, RequestBody, WagiRequest, WagiResult } from '../pool/executor-types.js';
import type { ForwardedEvent, FromWorker, HttpJobMessage, LogBatch, ServeMessage, WagiJobMessage } from '../pool/job-protocol.js';
import { createHttpTrigger } from '../trigger/http-server.js';
import { MemorySource, type ByteSource } from './wasi/io.js';

type Post = (message: FromWorker, transfer?: ArrayBuffer[]) => void;
type Guard = <T>(run: () => T) => T;

/** What worker-entry.ts lends the serving worker. */
export interface InlineRunner {
  runHttp(message: HttpJobMessage, post: Post, body: ByteSource | undefined): void;
  runWagi(message: WagiJobMessage, post: Post, guard: Guard): Promise<void>;
  /** Cleans up after a guest stopped at its deadline (its catch and finally blocks never ran). */
  abandon(componentId: string): void;
  /** Sends a message to the main thread. */
  send(message: FromWorker): void;
}

/** A worker serving HTTP. */
export interface ServingWorker {
  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), closes the connections. */
  drain(timeoutMs: number): Promise<void>;
}

/** Longest guest output waits in a serving worker before it is sent to the main thread. */
const LOG_BATCH_MS = 50;

/** Codes the pool publishes as guest errors (worker-pool.ts `fail`). */
const GUEST_FAULTS = new Set(['RUNTIME_GUEST_TRAP', 'RUNTIME_TIMEOUT', 'RUNTIME_NO_RESPONSE', 'RUNTIME_WORKER_FAILED']);

/** Starts the trigger in this thread and listens; resolves once listening (the main thread was told). */
export async function startServing(msg: ServeMessage, runner: InlineRunner): Promise<ServingWorker> {
  const inFlight = new Int32Array(msg.inFlight);
  const forward = (event: ForwardedEvent): void => runner.send({ type: 'event', event });
  // Guest output goes to the main thread in batches, at most every LOG_BATCH_MS (a message per
  // request would cost the main thread more than the rest of the request there).
  let pendingLogs: LogBatch = [];
  let logTimer: NodeJS.Timeout | undefined;
  const flushLogs = (): void => {
    logTimer = undefined;
    const logs = pendingLogs;
    pendingLogs = [];
    if (logs.length > 0) runner.send({ type: 'log', logs });
  };
  const forwardLogs = (logs: LogBatch | undefined): void => {
    if (logs === undefined || logs.length === 0) return;
    for (const entry of logs) pendingLogs.push(entry);
    logTimer ??= setTimeout(flushLogs, LOG_BATCH_MS);
  };
  // The main thread publishes these again, with its own app object (a channel does not cross threads).
  subscribe(RUNTIME_CHANNELS.requestError, (m) => {
    const { componentId, error } = m as RequestErrorEvent;
    const e = error as { name?: unknown; message?: unknown; code?: unknown };
    forward({ channel: 'request-error', componentId, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error), ...(typeof e?.code === 'string' ? { code: e.code } : {}) } });
  });
  subscribe(RUNTIME_CHANNELS.notFound, (m) => forward({ channel: 'not-found', path: (m as NotFoundEvent).path }));

  // A guest with a deadline runs under a vm timeout: V8 interrupts it (Wasm loops and
  // Atomics.wait included) and the thread goes on. The timeout costs a watchdog thread per run
  // (about 0.1 ms of CPU), so a guest without a deadline runs directly.
  const context = createContext({ run: undefined as (() => unknown) | undefined });
  const script = new Script('run()');
  function guarded<T>(componentId: string, timeoutMs: number | undefined, run: () => T): T {
    if (timeoutMs === undefined) return run();
    context['run'] = run;
    try {
      return script.runInContext(context, { timeout: Math.max(1, Math.ceil(timeoutMs)) }) as T;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      runner.abandon(componentId);
      const message = `Component "${componentId}" did not finish before its deadline and was stopped.`;
      forward({ channel: 'guest-error', componentId, code: 'RUNTIME_TIMEOUT', message });
      throw new GuestFaultError('RUNTIME_TIMEOUT', message, { componentId });
    } finally {
      context['run'] = undefined;
    }
  }

  let nextJob = 1;
  const executor: Executor = {
    async handle(componentId: string, request: GuestRequest, options?: ExecuteOptions): Promise<GuestResponse> {
      Atomics.add(inFlight, msg.slot, 1);
      try {
        // No wait for a request without a body: its guest runs in this turn.
        const body = request.body.empty === true ? EMPTY : await readWhole(request.body);
        const headers: string[] = [];
        for (const [name, value] of request.headers) headers.push(name, value);
        const job = nextJob++;
        const message: HttpJobMessage = { type: 'http', job, componentId, method: request.method, url: request.url, headers, body: body.length > 0 };
        const collected = new CollectedResponse(componentId, forward, forwardLogs);
        guarded(componentId, options?.timeoutMs, () => runner.runHttp(message, collected.post, body.length > 0 ? new MemorySource(body) : undefined));
        return collected.result();
      } finally {
        Atomics.sub(inFlight, msg.slot, 1);
      }
    },
    async runWagi(componentId: string, request: WagiRequest, options?: ExecuteOptions): Promise<WagiResult> {
      Atomics.add(inFlight, msg.slot, 1);
      try {
        const collected = new CollectedResponse(componentId, forward, forwardLogs);
        const guard: Guard = (run) => guarded(componentId, options?.timeoutMs, run);
        await runner.runWagi({ type: 'wagi', job: nextJob++, componentId, request }, collected.post, guard);
        return collected.wagiResult();
      } finally {
        Atomics.sub(inFlight, msg.slot, 1);
      }
    },
    close: async () => undefined,
  };

  const trigger = createHttpTrigger({ ...msg.options, app: msg.app, executor });
  if ('fd' in msg.listen) {
    await trigger.listen({ fd: msg.listen.fd, expect: msg.listen.bound });
  } else {
    await trigger.listen({ listen: msg.listen.address, findFreePort: msg.listen.findFreePort });
  }
  const bound = trigger.server.address();
  // The listening socket's descriptor: the other serving workers get their own descriptors of it
  // from this number (trigger/duplicate-listener.ts) while this worker holds it open.
  const fd = (trigger.server as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  runner.send({ type: 'listening', fd, address: typeof bound === 'object' && bound !== null ? bound.address : '', port: typeof bound === 'object' && bound !== null ? bound.port : 0 });
  return {
    drain: async (timeoutMs) => {
      await trigger.close(timeoutMs);
      clearTimeout(logTimer);
      flushLogs();
    },
  };
}

/** The whole request body (the trigger's pull throws past `maxBodyBytes`, and answers 413). */
async function readWhole(body: RequestBody): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
}

const EMPTY = new Uint8Array(0);

/** A job's messages (as the pool would get them), gathered into one answer. */
class CollectedResponse {
  private status = 0;
  private headers: string[] | undefined;
  private parts: Uint8Array[] = [];
  private ended = false;
  private error: ExecutorError | undefined;
  private wagi: WagiResult | undefined;
  private readonly componentId: string;
  private readonly forward: (event: ForwardedEvent) => void;
  private readonly forwardLogs: (logs: LogBatch | undefined) => void;

  constructor(componentId: string, forward: (event: ForwardedEvent) => void, forwardLogs: (logs: LogBatch | undefined) => void) {
    this.componentId = componentId;
    this.forward = forward;
    this.forwardLogs = forwardLogs;
  }

  readonly post: Post = (message) => {
    if ('logs' in message) this.forwardLogs(message.logs);
    switch (message.type) {
      case 'response':
        this.status = message.status;
        this.headers = message.headers;
        if (message.body !== undefined) this.parts.push(message.body);
        this.ended = message.end;
        break;
      case 'chunk':
        this.parts.push(message.bytes);
        break;
      case 'end':
        this.ended = true;
        break;
      case 'wagi-result':
        this.wagi = message.result;
        break;
      case 'error': {
        const text = `Component "${this.componentId}" failed: ${message.message}`;
        if (GUEST_FAULTS.has(message.code)) {
          this.forward({ channel: 'guest-error', componentId: this.componentId, code: message.code, message: text });
          this.error = new GuestFaultError(message.code, text, { componentId: this.componentId });
        } else this.error = new ExecutorError(message.code, text, { componentId: this.componentId });
        break;
      }
      default:
        break;
    }
  };

  result(): GuestResponse {
    if (this.error !== undefined) throw this.error;
    if (this.headers === undefined || !this.ended) throw new GuestFaultError('RUNTIME_NO_RESPONSE', `Component "${this.componentId}" failed: the guest returned without a response`, { componentId: this.componentId });
    const complete = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : Buffer.concat(this.parts);
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < this.headers.length; i += 2) headers.push([this.headers[i] as string, this.headers[i + 1] as string]);
    return {
      status: this.status,
      headers,
      complete,
      body: {
        async *[Symbol.asyncIterator]() {
          if (complete.length > 0) yield complete;
        },
      },
    };
  }

  wagiResult(): WagiResult {
    if (this.error !== undefined) throw this.error;
    if (this.wagi === undefined) throw new GuestFaultError('RUNTIME_NO_RESPONSE', `Component "${this.componentId}" failed: the WAGI module gave no result`, { componentId: this.componentId });
    return this.wagi;
  }
}
