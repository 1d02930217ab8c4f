/**
 * `spinel_http_requests_total` and `spinel_http_request_duration_seconds`, counted in plain
 * numbers per request and turned into prom-client's form only when `/metrics` is scraped.
 * prom-client's own Counter and Histogram hash and validate their labels on every call, a child
 * made by `labels()` included; here a request costs a lookup keyed by its route's labels object
 * (made once per route), a bucket search and a few additions.
 */
import type { Metric, Registry } from 'prom-client';

/** The labels of a request: the component (empty for static responses and 404s) and the route pattern. */
export interface RequestLabels {
  readonly component: string;
  readonly route: string;
}

/** The request counter and latency histogram. */
export interface RequestMetrics {
  /**
   * Counts one answered request (`status` 0 for a client that went away) that took `seconds`.
   * `labels` should be the same object for every request of a route (it keys a cache).
   */
  record(labels: RequestLabels, status: number, seconds: number): void;
}

/** Upper bounds of the latency buckets, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  labels: { component: string; route: string };
  /** Requests by status code. */
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative); the last one is beyond every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** Registers both metrics on `registry` and returns what counts into them. */
export function registerRequestMetrics(registry: Registry): RequestMetrics {
  const byKey = new Map<string, Series>();
  let byLabels = new WeakMap<RequestLabels, Series>();
  const seriesOf = (labels: RequestLabels): Series => {
    let series = byLabels.get(labels);
    if (series !== undefined) return series;
    // Two versions of the app have their own labels objects for the same route: one series.
    const key = `${labels.component}\0${labels.route}`;
    series = byKey.get(key);
    if (series === undefined) {
      series = { labels: { component: labels.component, route: labels.route }, statuses: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      byKey.set(key, series);
    }
    byLabels.set(labels, series);
    return series;
  };

  const reset = (): void => {
    byKey.clear();
    byLabels = new WeakMap();
  };
  const requests = 'spinel_http_requests_total';
  const duration = 'spinel_http_request_duration_seconds';
  define(registry, reset, requests, 'counter', 'HTTP requests answered, by component, route pattern and status.', () => {
    const values: MetricValue[] = [];
    for (const series of byKey.values()) {
      for (const [status, count] of series.statuses) values.push({ labels: { ...series.labels, status: String(status) }, value: count });
    }
    return values;
  });
  define(registry, reset, duration, 'histogram', 'Time from receiving a request to the end of its response.', () => {
    const values: MetricValue[] = [];
    for (const series of byKey.values()) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += series.buckets[i] ?? 0;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${duration}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${duration}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${duration}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${duration}_count` });
    }
    return values;
  });

  return {
    record(labels, status, seconds) {
      const series = seriesOf(labels);
      series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
      let i = 0;
      while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] ?? Infinity)) i++;
      series.buckets[i] = (series.buckets[i] ?? 0) + 1;
      series.sum += seconds;
      series.count++;
    },
  };
}

/** A metric prom-client's registry renders like its own: a name, help, type and values read at scrape time. */
function define(registry: Registry, reset: () => void, name: string, type: 'counter' | 'histogram', help: string, values: () => MetricValue[]): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
    reset,
  };
  registry.registerMetric(metric as unknown as Metric);
}
