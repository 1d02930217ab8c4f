// The runtime's events and counts as the runner reports them, driven through the runtime's own
// channels: only this runner's versions count, guest output becomes one log line per line (with
// a bound per chunk), outbound calls are labelled by scheme, and worker counts taken per version
// survive a switch without being lost or counted twice.
import { describe, expect, it } from 'vitest';
import * as runtime from '@spinel/runtime';
import type { AppStats } from '@spinel/runtime';
import type { LockedApp } from '@spinel/manifest';
import type { AppVersion } from './app-version.js';
import { createLogger } from './logger.js';
import { createRunnerMetrics } from './metrics.js';
import { MAX_LINES_PER_CHUNK, reportRuntime } from './runtime-events.js';
import { parsePrometheusText } from './test-prometheus.js';

function fakeVersion(digest: string, stats: () => AppStats): AppVersion {
  const app: LockedApp = { triggers: [], components: [] };
  return {
    app,
    digest,
    inFlight: 0,
    routeList: () => [],
    warnings: () => [],
    labelsFor: () => ({ component: '', route: '' }),
    handle: () => undefined,
    setSelfOrigin: () => undefined,
    stats,
    redisChannels: () => [],
    stopMessages: async () => undefined,
    retire: async () => undefined,
  };
}

function setUp(): {
  lines: Array<Record<string, unknown>>;
  logger: ReturnType<typeof createLogger>;
  metrics: ReturnType<typeof createRunnerMetrics>;
  value(name: string, labels?: Record<string, string>): Promise<number | undefined>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ stream: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const metrics = createRunnerMetrics({ processMetrics: false });
  return {
    lines,
    logger,
    metrics,
    async value(name, labels = {}) {
      const families = parsePrometheusText(await metrics.registry.metrics());
      return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    },
  };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('reporting the runtime', () => {
  it('logs the guest output of each version, a line per line (however it was written), and bounds a write', async () => {
    const { lines, logger, metrics } = setUp();
    const reporting = reportRuntime(runtime, metrics, logger);
    const output = reporting.guestOutput('sha256:aaa');
    const handedOver = (): Promise<void> => new Promise((r) => setImmediate(r));
    try {
      // One request's writes, handed over together: a line and its newline apart, a line in pieces.
      output('web', 'stdout', bytes('one\r\ntwo'));
      output('web', 'stdout', bytes('\n'));
      output('web', 'stderr', bytes('no newline '));
      output('web', 'stderr', bytes('at the end'));
      reporting.guestOutput('sha256:bbb')('web', 'stdout', bytes('from the next version\n'));
      await handedOver();
      expect(lines.map((l) => [l['event'], l['msg'], l['component'], l['stream'], l['digest']])).toEqual([
        ['guest.output', 'one', 'web', 'stdout', 'sha256:aaa'],
        ['guest.output', 'two', 'web', 'stdout', 'sha256:aaa'],
        ['guest.output', 'from the next version', 'web', 'stdout', 'sha256:bbb'],
        ['guest.output', 'no newline at the end', 'web', 'stderr', 'sha256:aaa'],
      ]);
      // A character split across writes is decoded whole.
      lines.length = 0;
      const snowman = bytes('\u2603\n');
      output('web', 'stdout', snowman.subarray(0, 2));
      output('web', 'stdout', snowman.subarray(2));
      await handedOver();
      expect(lines.map((l) => l['msg'])).toEqual(['\u2603']);
      lines.length = 0;
      output('web', 'stdout', bytes('\n'.repeat(MAX_LINES_PER_CHUNK + 5)));
      await handedOver();
      expect(lines.filter((l) => l['event'] === 'guest.output')).toHaveLength(MAX_LINES_PER_CHUNK);
      expect(lines.at(-1)).toMatchObject({ event: 'guest.output_truncated', lines: 5 });
    } finally {
      reporting.close();
    }
    output('web', 'stdout', bytes('after close\n'));
    await handedOver();
    expect(lines.some((l) => l['msg'] === 'after close')).toBe(false);
  });

  it('labels outbound calls by scheme and outcome, and counts guest faults of its versions', async () => {
    const t = setUp();
    const reporting = reportRuntime(runtime, t.metrics, t.logger);
    const v = fakeVersion('sha256:bbb', () => ({ queued: 0, busyWorkers: 0, workers: 0, instances: new Map(), keyValueOperations: [] }));
    reporting.add(v);
    try {
      runtime.outboundAllowedChannel.publish({ app: v.app, componentId: 'c', destination: 'redis://127.0.0.1:6379' });
      runtime.outboundAllowedChannel.publish({ app: v.app, componentId: 'c', destination: 'https://example.com:443' });
      runtime.outboundDeniedChannel.publish({ app: v.app, componentId: 'c', destination: 'postgres://db:5432', hint: 'add it' });
      runtime.outboundAllowedChannel.publish({ app: { other: true }, componentId: 'c', destination: 'redis://127.0.0.1:6379' });
      runtime.guestErrorChannel.publish({ app: v.app, componentId: 'c', code: 'RUNTIME_GUEST_TRAP', message: 'trap' });
      runtime.guestErrorChannel.publish({ app: v.app, componentId: 'c', code: 'RUNTIME_TIMEOUT', message: 'late' });
      runtime.guestErrorChannel.publish({ app: { other: true }, componentId: 'c', code: 'RUNTIME_GUEST_TRAP', message: 'trap' });
      expect(await t.value('spinel_outbound_requests_total', { component: 'c', scheme: 'redis', outcome: 'allowed' })).toBe(1);
      expect(await t.value('spinel_outbound_requests_total', { component: 'c', scheme: 'https', outcome: 'allowed' })).toBe(1);
      expect(await t.value('spinel_outbound_requests_total', { component: 'c', scheme: 'postgres', outcome: 'denied' })).toBe(1);
      expect(await t.value('spinel_guest_traps_total', { component: 'c' })).toBe(1);
      expect(await t.value('spinel_guest_timeouts_total', { component: 'c' })).toBe(1);
      expect(t.lines.find((l) => l['event'] === 'outbound.denied')).toMatchObject({ msg: 'add it', component: 'c', destination: 'postgres://db:5432' });
    } finally {
      reporting.close();
    }
  });

  it('adds up the counts of every version across a switch, neither losing nor doubling them', async () => {
    const t = setUp();
    const reporting = reportRuntime(runtime, t.metrics, t.logger);
    try {
      let oldInstances = 3;
      const old = fakeVersion('sha256:old', () => ({ queued: 2, busyWorkers: 1, workers: 2, instances: new Map([['web', oldInstances]]), keyValueOperations: [{ store: 'default', op: 'get', count: 4 }] }));
      const next = fakeVersion('sha256:new', () => ({ queued: 1, busyWorkers: 2, workers: 2, instances: new Map([['web', 5]]), keyValueOperations: [{ store: 'default', op: 'get', count: 1 }] }));
      reporting.add(old);
      expect(await t.value('spinel_instances_created_total', { component: 'web' })).toBe(3);
      expect(await t.value('spinel_instances_created_total', { component: 'web' })).toBe(3);
      reporting.add(next);
      expect(await t.value('spinel_queue_depth')).toBe(3);
      expect(await t.value('spinel_workers', { state: 'busy' })).toBe(3);
      expect(await t.value('spinel_workers', { state: 'total' })).toBe(4);
      expect(await t.value('spinel_key_value_operations_total', { store: 'default', op: 'get' })).toBe(5);
      // The old version made two more instances while draining, then retired.
      oldInstances = 5;
      reporting.remove(old);
      expect(await t.value('spinel_instances_created_total', { component: 'web' })).toBe(10);
      expect(await t.value('spinel_queue_depth')).toBe(1);
    } finally {
      reporting.close();
    }
  });
});
