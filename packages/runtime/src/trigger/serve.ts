/**
 * `serve`: an app's HTTP trigger listening, with an executor it owns from then on.
 */
import type { Executor } from '../pool/executor-types.js';
import { createHttpTrigger, type HttpTrigger, type HttpTriggerOptions, type ListenOptions } from './http-server.js';
import type { OutputFormat } from './startup-output.js';

/** Options of {@link serve}: the trigger's and where to listen. */
export interface ServeOptions extends HttpTriggerOptions, ListenOptions {}

/** A running app. */
export interface Serving {
  readonly trigger: HttpTrigger;
  /** `http://127.0.0.1:3000` (the bound address; the real port when 0 was asked). */
  readonly baseUrl: string;
  /** Spin's start-up text (`Serving …`, `Available Routes:`), or its JSON form. */
  startupText(format?: OutputFormat): string;
  /** Drains in-flight requests (up to `timeoutMs`), stops listening, then closes the executor. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Serves an app: builds its HTTP trigger over `executor` and listens; an executor with a
 * `setSelfOrigin(origin)` method is told the bound address (the target of `self` requests).
 * On failure to listen the executor is closed before the error is thrown.
 * @throws {RouteError} `RUNTIME_HTTP_INVALID_ROUTE`, `RUNTIME_HTTP_INVALID_TRIGGER`
 * @throws {ListenError} `RUNTIME_HTTP_ADDRESS_IN_USE`, `RUNTIME_HTTP_LISTEN_FAILED`, `RUNTIME_HTTP_INVALID_LISTEN`, `RUNTIME_HTTP_TLS`
 */
export async function serve(options: ServeOptions): Promise<Serving> {
  const executor: Executor = options.executor;
  let trigger: HttpTrigger;
  let baseUrl: string;
  try {
    trigger = createHttpTrigger(options);
    const listen: ListenOptions = {};
    if (options.listen !== undefined) listen.listen = options.listen;
    if (options.findFreePort !== undefined) listen.findFreePort = options.findFreePort;
    baseUrl = await trigger.listen(listen);
    // `self` requests go to the listener's own address, never to one taken from a Host header.
    (executor as { setSelfOrigin?: (origin: string) => void }).setSelfOrigin?.(baseUrl);
  } catch (err) {
    await executor.close().catch(() => undefined);
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    trigger,
    baseUrl,
    startupText: (format) => trigger.startupText(format),
    close(timeoutMs?: number): Promise<void> {
      closing ??= (async () => {
        try {
          await trigger.close(timeoutMs);
        } finally {
          await executor.close();
        }
      })();
      return closing;
    },
  };
}
