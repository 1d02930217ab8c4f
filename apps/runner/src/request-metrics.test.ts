import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { DURATION_BUCKETS, registerRequestMetrics } from './request-metrics.js';
import { parsePrometheusText } from './test-prometheus.js';

describe('request metrics', () => {
  it('counts requests by labels and status and renders a cumulative histogram prom-client parses like its own', async () => {
    const registry = new Registry();
    const metrics = registerRequestMetrics(registry);
    const web = { component: 'web', route: '/...' };
    // Another version of the app: its own labels object for the same route, the same series.
    const webNext = { component: 'web', route: '/...' };
    metrics.record(web, 200, 0.0005);
    metrics.record(web, 200, 0.003);
    metrics.record(webNext, 500, 42);
    metrics.record({ component: '', route: '' }, 0, 0.02);
    const families = parsePrometheusText(await registry.metrics());
    const requests = families.get('spinel_http_requests_total');
    expect(requests?.type).toBe('counter');
    const count = (labels: Record<string, string>): number | undefined => requests?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(count({ component: 'web', route: '/...', status: '200' })).toBe(2);
    expect(count({ component: 'web', route: '/...', status: '500' })).toBe(1);
    expect(count({ component: '', route: '', status: '0' })).toBe(1);
    const duration = families.get('spinel_http_request_duration_seconds');
    expect(duration?.type).toBe('histogram');
    const webSamples = duration?.samples.filter((s) => s.labels['component'] === 'web') ?? [];
    const bucket = (le: string): number | undefined => webSamples.find((s) => s.name.endsWith('_bucket') && s.labels['le'] === le)?.value;
    expect(webSamples.filter((s) => s.name.endsWith('_bucket'))).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(bucket('0.001')).toBe(1);
    expect(bucket('0.005')).toBe(2);
    expect(bucket('30')).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(webSamples.find((s) => s.name.endsWith('_count'))?.value).toBe(3);
    expect(webSamples.find((s) => s.name.endsWith('_sum'))?.value).toBeCloseTo(42.0035, 6);
    registry.resetMetrics();
    expect(parsePrometheusText(await registry.metrics()).get('spinel_http_requests_total')?.samples).toEqual([]);
  });
});
