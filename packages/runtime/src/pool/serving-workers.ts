/**
 * The `serveFromWorkers` mode's supervisor (main thread): worker threads that serve HTTP
 * themselves (guest/serve-http.ts). The first binds the address; the others listen on the same
 * listening socket, each through a descriptor of its own (trigger/duplicate-listener.ts), so the
 * kernel hands each connection to one of them and the main thread never touches a request. The
 * main thread only starts them, publishes what they report (events, guest output) and drains them
 * at shutdown.
 *
 * A serving worker is never terminated while the others serve (a deadline stops the guest inside
 * its thread instead). When one dies anyway, only its connections go with it: a new worker takes
 * its slot and listens through a descriptor duplicated from a surviving worker's, while the others
 * go on serving theirs. Only when no worker is left listening is the address bound again.
 */
import type { Worker } from 'node:worker_threads';
import { ListenError } from '../errors.js';
import { guestErrorChannel, notFoundChannel, requestErrorChannel, type GuestErrorEvent, type NotFoundEvent, type RequestErrorEvent } from '../events.js';
import { formatSocketAddress } from '../trigger/request-metadata.js';
import type { ServeHttpRequest, WorkerServing } from './executor-types.js';
import type { ForwardedEvent, FromWorker, LogBatch, ServeMessage } from './job-protocol.js';

/** What the pool lends the serving workers. */
export interface ServingHost {
  /** The app object named in events. */
  readonly app: object;
  /** A new worker thread, initialised as a pool worker (components, channel, capabilities). */
  startServingThread(): Worker;
  /** Ends a worker (asked to close when idle, else terminated). */
  stopThread(worker: Worker, idle: boolean): Promise<void>;
  appendLogs(batch: LogBatch): void;
}

type ListenResult = { fd: number; address: string; port: number };
type ListenTarget = ServeMessage['listen'];

interface Serving {
  worker: Worker;
  /** Its index in the in-flight counts. */
  slot: number;
  /** Its own descriptor of the listening socket, once it listens (-1 before). */
  fd: number;
  drained: (() => void) | undefined;
}

/** First wait before a failed replacement of a lost worker is tried again, and the longest. */
const REPLACE_BACKOFF_MS = 1000;
const REPLACE_BACKOFF_MAX_MS = 30_000;

/** How long a draining worker may take beyond the drain timeout before it is stopped. */
const DRAIN_SLACK_MS = 1000;

/** The serving workers of one trigger. */
export class ServingWorkers implements WorkerServing {
  private readonly host: ServingHost;
  private readonly count: number;
  private readonly request: ServeHttpRequest;
  private readonly inFlightCounts: Int32Array;
  private workers: Serving[] = [];
  private closing = false;
  /** Replacements of lost workers, one after another (two lost at once must not pick one donor each from a dying set). */
  private replacing: Promise<void> = Promise.resolve();
  /** Ends the waits of replacements tried again (close must not wait for them). */
  private readonly wakeOnClose = new Set<() => void>();
  address = '';
  port = 0;

  constructor(host: ServingHost, count: number, request: ServeHttpRequest) {
    this.host = host;
    this.count = Math.max(1, count);
    this.request = request;
    this.inFlightCounts = new Int32Array(new SharedArrayBuffer(4 * this.count));
  }

  /** Requests the serving workers are answering now. */
  inFlight(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += Atomics.load(this.inFlightCounts, i);
    return n;
  }

  /** Starts the workers: the first binds, the others join its socket. @throws {ListenError} as the trigger's `listen` */
  async start(listen: { address: string; findFreePort: boolean }): Promise<void> {
    const first = await this.spawn(0, listen);
    this.address = first.address;
    this.port = first.port;
    try {
      await Promise.all(Array.from({ length: this.count - 1 }, (_, i) => this.spawn(i + 1, { fd: first.fd, bound: { address: first.address, port: first.port } })));
    } catch (err) {
      await this.stopAll(0);
      throw err;
    }
  }

  private spawn(slot: number, listen: ListenTarget): Promise<ListenResult> {
    const worker = this.host.startServingThread();
    const serving: Serving = { worker, slot, fd: -1, drained: undefined };
    this.workers.push(serving);
    return new Promise<ListenResult>((resolve, reject) => {
      let listening = false;
      worker.on('message', (msg: FromWorker) => {
        if ('logs' in msg && msg.logs !== undefined) this.host.appendLogs(msg.logs);
        if (msg.type === 'listening') {
          listening = true;
          serving.fd = msg.fd;
          resolve(msg);
        } else if (msg.type === 'serve-failed') {
          reject(new ListenError(msg.code as ConstructorParameters<typeof ListenError>[0], msg.message));
        } else if (msg.type === 'event') this.publish(msg.event);
        else if (msg.type === 'drained') serving.drained?.();
      });
      const lost = (err: unknown): void => {
        if (!this.workers.includes(serving)) return;
        this.workers = this.workers.filter((w) => w !== serving);
        serving.drained?.();
        if (!listening) {
          reject(new ListenError('RUNTIME_HTTP_LISTEN_FAILED', `A serving worker stopped before it listened${err instanceof Error ? `: ${err.message}` : ''}.`, { cause: err }));
          return;
        }
        // Its requests went with it.
        Atomics.store(this.inFlightCounts, slot, 0);
        if (this.closing) return;
        if (guestErrorChannel.hasSubscribers) {
          guestErrorChannel.publish({ app: this.host.app, componentId: '', code: 'RUNTIME_WORKER_FAILED', message: `A serving worker stopped${err instanceof Error ? `: ${err.message}` : ''}; a new one takes its place.` } satisfies GuestErrorEvent);
        }
        this.replacing = this.replacing.then(() => this.replace(slot)).catch((e: unknown) => this.report(e));
      };
      worker.on('error', lost);
      worker.on('exit', () => lost(undefined));
      const message: ServeMessage = { type: 'serve', app: this.request.app, options: this.request.options, listen, inFlight: this.inFlightCounts.buffer as SharedArrayBuffer, slot };
      worker.postMessage(message);
    });
  }

  /**
   * A new worker for `slot`, listening through a descriptor of its own duplicated from a surviving
   * worker's (the others keep serving meanwhile). A donor that dies while it is copied fails the
   * new worker's listen (its number is checked to still hold this address): the next survivor is
   * tried. A replacement that fails while its donor lives is tried again later, each wait twice
   * as long (up to 30 s). With no survivor left, the address is bound again.
   */
  private async replace(slot: number): Promise<void> {
    for (let backoffMs = REPLACE_BACKOFF_MS; ; ) {
      if (this.closing) return;
      const donor = this.workers.find((w) => w.fd >= 0);
      if (donor === undefined) return this.rebind();
      try {
        await this.spawn(slot, { fd: donor.fd, bound: { address: this.address, port: this.port } });
        return;
      } catch (err) {
        if (!this.workers.includes(donor)) continue;
        this.report(err);
        await this.pause(backoffMs);
        backoffMs = Math.min(backoffMs * 2, REPLACE_BACKOFF_MAX_MS);
      }
    }
  }

  /** Waits `ms`, or less when the workers are closed meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeOnClose.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeOnClose.add(done);
    });
  }

  /** No worker listens any more, so the socket is gone: stop what is left and bind the same address again. */
  private async rebind(): Promise<void> {
    await this.stopAll(0);
    if (this.closing) return;
    this.inFlightCounts.fill(0);
    try {
      await this.start({ address: formatSocketAddress(this.address, this.port), findFreePort: false });
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    if (requestErrorChannel.hasSubscribers) requestErrorChannel.publish({ app: this.host.app, componentId: '', error: err } satisfies RequestErrorEvent);
  }

  private publish(event: ForwardedEvent): void {
    const app = this.host.app;
    if (event.channel === 'not-found') {
      if (notFoundChannel.hasSubscribers) notFoundChannel.publish({ app, path: event.path } satisfies NotFoundEvent);
    } else if (event.channel === 'guest-error') {
      if (guestErrorChannel.hasSubscribers) guestErrorChannel.publish({ app, componentId: event.componentId, code: event.code, message: event.message } satisfies GuestErrorEvent);
    } else if (requestErrorChannel.hasSubscribers) {
      const error = Object.assign(new Error(event.error.message), { name: event.error.name }, event.error.code === undefined ? {} : { code: event.error.code });
      requestErrorChannel.publish({ app, componentId: event.componentId, error } satisfies RequestErrorEvent);
    }
  }

  /** Asks every worker to drain (up to `timeoutMs`), then stops them. */
  private async stopAll(timeoutMs: number): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(
      workers.map(async (serving) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => {
            serving.drained = resolve;
            serving.worker.postMessage({ type: 'drain', timeoutMs });
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs + DRAIN_SLACK_MS);
          }),
        ]);
        clearTimeout(timer);
        await this.host.stopThread(serving.worker, true);
      }),
    );
  }

  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const wake of [...this.wakeOnClose]) wake();
    await this.replacing;
    await this.stopAll(timeoutMs);
  }
}
