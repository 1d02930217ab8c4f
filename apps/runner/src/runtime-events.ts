/**
 * What the runtime tells the runner, turned into metrics and log lines: its diagnostics-channel
 * events (request errors, guest traps and timeouts, outbound calls allowed and denied, Redis
 * connections lost and restored), Redis messages handled (each version's `onHandled`), guest
 * stdout/stderr (each version's `onGuestOutput`) and the counts read from each live version at
 * scrape time (queue, workers, instances made, key-value operations). Events name the app object
 * they belong to, so only this runner's versions are counted, and each is told apart during a
 * switch.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TextDecoder } from 'node:util';
import type * as RuntimeApi from '@spinel/runtime';
import type { ExecutorOptions, GuestErrorEvent, OutboundAllowedEvent, OutboundDeniedEvent, RequestErrorEvent } from '@spinel/runtime';
import type { AppVersion } from './app-version.js';
import { errorCode } from './errors.js';
import type { Logger } from './logger.js';
import type { RunnerMetrics } from './metrics.js';

/** Lines of one write of guest output logged one by one; beyond them, one line says how many more. */
export const MAX_LINES_PER_CHUNK = 1000;

/** What the runtime calls with each chunk a guest writes (`onGuestOutput`). */
export type GuestOutputHandler = NonNullable<ExecutorOptions['onGuestOutput']>;

/** The versions of one runner whose events and counts are reported. */
export interface RuntimeReporting {
  /** Reports a version from now on (as soon as it is prepared). */
  add(version: AppVersion): void;
  /** Takes the version's last counts and stops reporting it (after it is retired). */
  remove(version: AppVersion): void;
  /** The `onGuestOutput` of a version pulled by `digest`: its guests' stdout/stderr as `guest.output` log lines with the component id. */
  guestOutput(digest: string | undefined): GuestOutputHandler;
  /** What a version pulled by `digest` calls as a component is done with a Redis message: counted, and a failure logged. */
  redisHandled(digest: string | undefined): (componentId: string, channel: string, error: unknown) => void;
  /** Unsubscribes from every channel; guest output is no longer logged. */
  close(): void;
}

interface LastCounts {
  instances: Map<string, number>;
  keyValue: Map<string, number>;
}

/** Subscribes to the runtime's channels and feeds `metrics` and `logger` for the versions added. */
export function reportRuntime(runtime: typeof RuntimeApi, metrics: RunnerMetrics, logger: Logger): RuntimeReporting {
  const versions = new Map<object, AppVersion>();
  const last = new Map<AppVersion, LastCounts>();

  /** Adds what a version counted since the last read to the runner's counters. */
  const takeCounts = (version: AppVersion, counts: LastCounts): ReturnType<AppVersion['stats']> => {
    const stats = version.stats();
    for (const [component, total] of stats.instances) {
      const delta = total - (counts.instances.get(component) ?? 0);
      if (delta > 0) metrics.instancesCreated.labels(component).inc(delta);
      counts.instances.set(component, total);
    }
    for (const { store, op, count } of stats.keyValueOperations) {
      const key = `${store}\0${op}`;
      const delta = count - (counts.keyValue.get(key) ?? 0);
      if (delta > 0) metrics.keyValueOperations.labels(store, op).inc(delta);
      counts.keyValue.set(key, count);
    }
    return stats;
  };

  const refresh = (): void => {
    let queued = 0;
    let busy = 0;
    let workers = 0;
    for (const [version, counts] of last) {
      const stats = takeCounts(version, counts);
      queued += stats.queued;
      busy += stats.busyWorkers;
      workers += stats.workers;
    }
    metrics.queueDepth.set(queued);
    metrics.workers.labels('busy').set(busy);
    metrics.workers.labels('total').set(workers);
  };
  const stopScrape = metrics.onScrape(refresh);

  const onRequestError = (message: unknown): void => {
    const { app, componentId, error } = message as RequestErrorEvent;
    if (!versions.has(app)) return;
    const code = errorCode(error);
    metrics.requestErrors.labels(componentId, code).inc();
    if (code !== 'RUNTIME_ABORTED') logger.warn('http.request_failed', `Error processing request: ${(error as Error | undefined)?.message ?? String(error)}`, { component: componentId, code });
  };
  // Faults of every guest run, chained requests included (a request error names only the outer component).
  const onGuestError = (message: unknown): void => {
    const { app, componentId, code } = message as GuestErrorEvent;
    if (!versions.has(app)) return;
    if (code === 'RUNTIME_GUEST_TRAP') metrics.guestTraps.labels(componentId).inc();
    if (code === 'RUNTIME_TIMEOUT') metrics.guestTimeouts.labels(componentId).inc();
  };
  const onOutboundDenied = (message: unknown): void => {
    const { app, componentId, destination, hint } = message as OutboundDeniedEvent;
    if (app === undefined || !versions.has(app)) return;
    metrics.outbound.labels(componentId, schemeOf(destination), 'denied').inc();
    logger.warn('outbound.denied', hint, { component: componentId, destination });
  };
  const onOutboundAllowed = (message: unknown): void => {
    const { app, componentId, destination } = message as OutboundAllowedEvent;
    if (app === undefined || !versions.has(app)) return;
    metrics.outbound.labels(componentId, schemeOf(destination), 'allowed').inc();
  };
  let closed = false;
  /** Guest output lines by component and stream, added to the counter when it is scraped. */
  const outputLines = new Map<string, { componentId: string; stream: 'stdout' | 'stderr'; pending: number }>();
  const takeOutputLines = (): void => {
    for (const cell of outputLines.values()) {
      if (cell.pending === 0) continue;
      metrics.guestOutputLines.labels(cell.componentId, cell.stream).inc(cell.pending);
      cell.pending = 0;
    }
  };
  const stopOutputScrape = metrics.onScrape(takeOutputLines);
  /**
   * Guest stdout/stderr of one version (the runtime's `onGuestOutput`): a log line per line
   * written. The runtime hands over a request's writes together, in one synchronous run, as they
   * were made (a guest may write a line and its newline apart): a line is logged when its newline
   * comes, and what is left without one once that run is over is logged as a line of its own.
   * Each component's stream keeps its decoder and log writer (fields serialised once), so a
   * request's line costs its text and little else.
   */
  const guestOutput = (digest: string | undefined): GuestOutputHandler => {
    interface OutputStream {
      decoder: TextDecoder;
      /** Text after the last newline. */
      text: string;
      /** Waiting for the end of the run (text or bytes of a character left over). */
      open: boolean;
      line: (msg: string) => void;
      truncated: (msg: string, lines: number) => void;
      count: { pending: number };
    }
    const streams = new Map<string, { stdout?: OutputStream; stderr?: OutputStream }>();
    const open: OutputStream[] = [];
    const streamOf = (componentId: string, stream: 'stdout' | 'stderr'): OutputStream => {
      let byStream = streams.get(componentId);
      if (byStream === undefined) {
        byStream = {};
        streams.set(componentId, byStream);
      }
      let found = byStream[stream];
      if (found === undefined) {
        const fields = { component: componentId, stream, digest };
        const key = `${componentId}\0${stream}`;
        let count = outputLines.get(key);
        if (count === undefined) {
          count = { componentId, stream, pending: 0 };
          outputLines.set(key, count);
        }
        found = {
          decoder: new TextDecoder(),
          text: '',
          open: false,
          line: logger.writer('info', 'guest.output', fields),
          truncated: (msg, lines) => logger.warn('guest.output_truncated', msg, { ...fields, lines }),
          count,
        };
        byStream[stream] = found;
      }
      return found;
    };
    const emit = (s: OutputStream, line: string): void => s.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    const flush = (): void => {
      for (const s of open.splice(0)) {
        s.open = false;
        const rest = s.text + s.decoder.decode();
        s.text = '';
        if (rest === '' || closed) continue;
        emit(s, rest);
        s.count.pending++;
      }
    };
    return (componentId, stream, bytes) => {
      if (closed || bytes.length === 0) return;
      const s = streamOf(componentId, stream);
      const text = s.text + s.decoder.decode(bytes, { stream: true });
      let start = 0;
      let lines = 0;
      // One write of newlines could be thousands of log events: past the bound the rest are counted.
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        if (lines < MAX_LINES_PER_CHUNK) emit(s, text.slice(start, end));
        lines++;
        start = end + 1;
      }
      s.text = start === 0 ? text : text.slice(start);
      if (lines > MAX_LINES_PER_CHUNK) s.truncated(`${lines - MAX_LINES_PER_CHUNK} more lines of ${stream} from ${componentId} were not logged.`, lines - MAX_LINES_PER_CHUNK);
      s.count.pending += lines;
      // A write ending in a newline leaves nothing behind (not even part of a character).
      if (!s.open && bytes[bytes.length - 1] !== 0x0a) {
        s.open = true;
        if (open.push(s) === 1) queueMicrotask(flush);
      }
    };
  };

  const redisHandled = (digest: string | undefined) => (componentId: string, channel: string, error: unknown): void => {
    if (closed) return;
    metrics.redisMessages.labels(componentId, error === undefined ? 'ok' : 'failed').inc();
    if (error === undefined) return;
    // As `spinel up` prints it (Spin's trigger logs the same): the subscription goes on.
    logger.warn('redis.message_failed', `Component ${componentId} handler failed: ${(error as Error | undefined)?.message ?? String(error)}`, { component: componentId, channel, code: errorCode(error), digest });
  };
  const onRedisConnection = (message: unknown): void => {
    const { app, server, state, error } = message as { app?: object; server: string; state: 'lost' | 'restored'; error?: unknown };
    if (app === undefined || !versions.has(app)) return;
    if (state === 'lost') {
      logger.warn('redis.connection_lost', `Lost the Redis trigger's connection to ${server}${error === undefined ? '' : ` (${(error as Error).message})`}; reconnecting with backoff, then subscribing again.`, { server });
    } else {
      logger.info('redis.connection_restored', `The Redis trigger is connected to ${server} again and subscribed.`, { server });
    }
  };

  const subscriptions: Array<[string, (message: unknown) => void]> = [
    [runtime.RUNTIME_CHANNELS.requestError, onRequestError],
    [runtime.RUNTIME_CHANNELS.guestError, onGuestError],
    [runtime.RUNTIME_CHANNELS.outboundDenied, onOutboundDenied],
    [runtime.RUNTIME_CHANNELS.outboundAllowed, onOutboundAllowed],
    [runtime.redisConnectionChannel.name as string, onRedisConnection],
  ];
  for (const [name, listener] of subscriptions) subscribe(name, listener);

  return {
    add(version) {
      versions.set(version.app, version);
      last.set(version, { instances: new Map(), keyValue: new Map() });
    },
    remove(version) {
      const counts = last.get(version);
      if (counts !== undefined) takeCounts(version, counts);
      last.delete(version);
      if (versions.get(version.app) === version) versions.delete(version.app);
    },
    guestOutput,
    redisHandled,
    close() {
      closed = true;
      stopScrape();
      stopOutputScrape();
      for (const [name, listener] of subscriptions) unsubscribe(name, listener);
    },
  };
}

/** `redis` of `redis://host:6379`; `unknown` when there is none. */
function schemeOf(destination: string): string {
  const colon = destination.indexOf('://');
  return colon > 0 ? destination.slice(0, colon) : 'unknown';
}
