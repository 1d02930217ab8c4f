/**
 * The runner's Prometheus metrics (prom-client, a registry of its own so two runners in one
 * process never mix counts). Label values come from the manifest (component ids, route
 * patterns) and from status codes, never from request paths, so cardinality stays bounded.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics.js';
import { registerRequestMetrics, type RequestMetrics } from './request-metrics.js';

/** The metrics one runner keeps, and its registry. */
export interface RunnerMetrics {
  readonly registry: Registry;
  /** `spinel_http_requests_total{component,route,status}` and `spinel_http_request_duration_seconds{component,route}` (request-metrics.ts). */
  readonly requests: RequestMetrics;
  /** `spinel_http_requests_in_flight` (set by an `onScrape` function: the listener knows the count). */
  readonly inFlight: Gauge;
  /** `spinel_guest_traps_total{component}` */
  readonly guestTraps: Counter<'component'>;
  /** `spinel_guest_timeouts_total{component}` */
  readonly guestTimeouts: Counter<'component'>;
  /** `spinel_request_errors_total{component,code}`: every failed guest request, by the runtime's code. */
  readonly requestErrors: Counter<'component' | 'code'>;
  /** `spinel_outbound_requests_total{component,scheme,outcome}` (`allowed`, `denied`): allow-list decisions: outbound HTTP requests (on undici's path), connections lent to a worker for plain `http:` requests (one decision per connection, which then carries that component's requests to its origin) and Redis/PostgreSQL/MySQL/MQTT connections. */
  readonly outbound: Counter<'component' | 'scheme' | 'outcome'>;
  /** `spinel_queue_depth`: requests waiting for a free worker (read from the runtime at each scrape). */
  readonly queueDepth: Gauge;
  /** `spinel_workers{state}` (`busy`, `total`): worker threads, temporary ones included. */
  readonly workers: Gauge<'state'>;
  /** `spinel_instances_created_total{component}`: Wasm instances made (about one per request). */
  readonly instancesCreated: Counter<'component'>;
  /** `spinel_key_value_operations_total{store,op}`: key-value operations guests made, by store label. */
  readonly keyValueOperations: Counter<'store' | 'op'>;
  /** `spinel_redis_messages_total{component,outcome}` (`ok`, `failed`): Redis messages handled by the Redis trigger's components. */
  readonly redisMessages: Counter<'component' | 'outcome'>;
  /** `spinel_guest_output_lines_total{component,stream}`: guest stdout/stderr lines forwarded to the log. */
  readonly guestOutputLines: Counter<'component' | 'stream'>;
  /** `spinel_app_pulls_total{outcome}` (`ok`, `failed`). */
  readonly pulls: Counter<'outcome'>;
  /** `spinel_app_pull_blobs_total{outcome}` (`cached`: a cache hit, `downloaded`). */
  readonly pullBlobs: Counter<'outcome'>;
  /** `spinel_registry_checks_total{outcome}` (`unchanged`, `changed`, `failed`): tag polls. */
  readonly registryChecks: Counter<'outcome'>;
  /** `spinel_app_switches_total`: new versions put in service after the first. */
  readonly switches: Counter;
  /** `spinel_app_prepare_failures_total`: versions that failed to pull or prepare. */
  readonly prepareFailures: Counter;
  readonly cacheIntegrityFailures: Counter;
  /** `spinel_app_info{digest,source}` = 1 for the version serving now. */
  readonly appInfo: Gauge<'digest' | 'source'>;
  /** `spinel_ready`: 1 when /readyz answers 200. */
  readonly ready: Gauge;
  /**
   * Registers a function run when a metric kept outside prom-client (in flight, guest output
   * lines, and those read from the runtime: queue, workers, instances, key-value operations) is
   * scraped, to bring it up to date first. It runs once per such metric, so it must be cheap and
   * idempotent. Returns the unregistering function.
   */
  onScrape(refresh: () => void): () => void;
}

/** Options of {@link createRunnerMetrics}. */
export interface RunnerMetricsOptions {
  /** The process metrics (CPU, memory, heap, file descriptors, event-loop delay) as `spinel_process_*`/`spinel_nodejs_*`, read at scrape time (process-metrics.ts). @default true */
  processMetrics?: boolean;
}

/** Creates the runner's metrics in a fresh registry. */
export function createRunnerMetrics(options: RunnerMetricsOptions = {}): RunnerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) registerProcessMetrics(registry);
  const registers = [registry];
  const refreshers = new Set<() => void>();
  const collect = (): void => {
    for (const refresh of refreshers) refresh();
  };
  return {
    onScrape(refresh) {
      refreshers.add(refresh);
      return () => void refreshers.delete(refresh);
    },
    registry,
    requests: registerRequestMetrics(registry),
    inFlight: new Gauge({ name: 'spinel_http_requests_in_flight', help: 'Requests being handled now (queued ones included).', registers, collect }),
    guestTraps: new Counter({ name: 'spinel_guest_traps_total', help: 'Requests whose guest trapped.', labelNames: ['component'], registers }),
    guestTimeouts: new Counter({ name: 'spinel_guest_timeouts_total', help: 'Requests stopped at their deadline (--request-timeout).', labelNames: ['component'], registers }),
    requestErrors: new Counter({ name: 'spinel_request_errors_total', help: 'Requests that failed in the runtime, by component and error code.', labelNames: ['component', 'code'], registers }),
    outbound: new Counter({
      name: 'spinel_outbound_requests_total',
      help: 'Outbound HTTP requests and database/broker connections from guests, allowed or denied by allowed_outbound_hosts, by scheme.',
      labelNames: ['component', 'scheme', 'outcome'],
      registers,
    }),
    queueDepth: new Gauge({ name: 'spinel_queue_depth', help: 'Requests waiting for a free worker.', registers, collect }),
    workers: new Gauge({ name: 'spinel_workers', help: 'Worker threads running guests: busy ones and all (temporary ones included).', labelNames: ['state'], registers, collect }),
    instancesCreated: new Counter({ name: 'spinel_instances_created_total', help: 'Wasm instances made, by component (about one per request).', labelNames: ['component'], registers, collect }),
    keyValueOperations: new Counter({ name: 'spinel_key_value_operations_total', help: 'Key-value operations made by guests, by store label and operation.', labelNames: ['store', 'op'], registers, collect }),
    redisMessages: new Counter({ name: 'spinel_redis_messages_total', help: 'Redis messages handled, by component and outcome (ok, failed).', labelNames: ['component', 'outcome'], registers }),
    guestOutputLines: new Counter({ name: 'spinel_guest_output_lines_total', help: 'Lines of guest stdout/stderr forwarded to the log.', labelNames: ['component', 'stream'], registers, collect }),
    pulls: new Counter({ name: 'spinel_app_pulls_total', help: 'App pulls from the registry or layout.', labelNames: ['outcome'], registers }),
    pullBlobs: new Counter({ name: 'spinel_app_pull_blobs_total', help: 'Blobs of pulled apps: cached (already in the cache) or downloaded.', labelNames: ['outcome'], registers }),
    registryChecks: new Counter({ name: 'spinel_registry_checks_total', help: 'Checks of the tag for a new digest.', labelNames: ['outcome'], registers }),
    switches: new Counter({ name: 'spinel_app_switches_total', help: 'New app versions put in service after the first.', registers }),
    prepareFailures: new Counter({ name: 'spinel_app_prepare_failures_total', help: 'App versions that failed to pull, verify or prepare (never served).', registers }),
    cacheIntegrityFailures: new Counter({ name: 'spinel_cache_integrity_failures_total', help: 'Versions whose cached component no longer matched its digest when prepared (pulled again once).', registers }),
    appInfo: new Gauge({ name: 'spinel_app_info', help: 'The app version serving now (value 1).', labelNames: ['digest', 'source'], registers }),
    ready: new Gauge({ name: 'spinel_ready', help: '1 when the runner is ready (/readyz answers 200).', registers }),
  };
}
