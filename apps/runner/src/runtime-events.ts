/**
 * What the runtime tells the runner, turned into metrics and log lines: its diagnostics-channel
 * events (request errors, guest traps and timeouts, outbound calls allowed and denied), guest
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
  /**
   * Guest stdout/stderr of one version (the runtime's `onGuestOutput`): a log line per line
   * written. The runtime hands over a request's writes together, in one synchronous run, as they
   * were made (a guest may write a line and its newline apart): a line is logged when its newline
   * comes, and what is left without one once that run is over is logged as a line of its own.
   */
  const guestOutput = (digest: string | undefined): GuestOutputHandler => {
    const pending = new Map<string, { componentId: string; stream: 'stdout' | 'stderr'; decoder: TextDecoder; text: string }>();
    let flushing = false;
    const log = (componentId: string, stream: 'stdout' | 'stderr', lines: string[]): void => {
      const fields = { component: componentId, stream, digest };
      // One write of newlines could be thousands of log events: past the bound the rest are counted.
      for (const line of lines.slice(0, MAX_LINES_PER_CHUNK)) logger.info('guest.output', line.endsWith('\r') ? line.slice(0, -1) : line, fields);
      if (lines.length > MAX_LINES_PER_CHUNK) logger.warn('guest.output_truncated', `${lines.length - MAX_LINES_PER_CHUNK} more lines of ${stream} from ${componentId} were not logged.`, { ...fields, lines: lines.length - MAX_LINES_PER_CHUNK });
      metrics.guestOutputLines.labels(componentId, stream).inc(lines.length);
    };
    const flush = (): void => {
      flushing = false;
      for (const part of pending.values()) {
        const rest = part.text + part.decoder.decode();
        if (rest !== '' && !closed) log(part.componentId, part.stream, [rest]);
      }
      pending.clear();
    };
    return (componentId, stream, bytes) => {
      if (closed) return;
      const key = `${stream}\0${componentId}`;
      let part = pending.get(key);
      if (part === undefined) {
        part = { componentId, stream, decoder: new TextDecoder(), text: '' };
        pending.set(key, part);
      }
      const lines = (part.text + part.decoder.decode(bytes, { stream: true })).split('\n');
      part.text = lines.pop() ?? '';
      if (lines.length > 0) log(componentId, stream, lines);
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    };
  };

  const subscriptions: Array<[string, (message: unknown) => void]> = [
    [runtime.RUNTIME_CHANNELS.requestError, onRequestError],
    [runtime.RUNTIME_CHANNELS.guestError, onGuestError],
    [runtime.RUNTIME_CHANNELS.outboundDenied, onOutboundDenied],
    [runtime.RUNTIME_CHANNELS.outboundAllowed, onOutboundAllowed],
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
    close() {
      closed = true;
      stopScrape();
      for (const [name, listener] of subscriptions) unsubscribe(name, listener);
    },
  };
}

/** `redis` of `redis://host:6379`; `unknown` when there is none. */
function schemeOf(destination: string): string {
  const colon = destination.indexOf('://');
  return colon > 0 ? destination.slice(0, colon) : 'unknown';
}
