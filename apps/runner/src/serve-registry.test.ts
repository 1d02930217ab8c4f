// End to end: the built runner (`pnpm build` first) serving apps from a real docker-registry,
// reached through a relay that plays the registry going down and up.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from './test-prometheus.js';
import { createRelay, get, pushManifest, startRunner, waitForStatus, writeWatApp, type Relay, type RunnerProcess } from './test-helpers.js';

let registry: TestRegistry;
let dir: string;
const runners: RunnerProcess[] = [];
const relays: Relay[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-e2e-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await Promise.all(relays.map((r) => r.close()));
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}): RunnerProcess {
  const runner = startRunner(['--cache-dir', join(dir, 'cache'), ...args], { DOCKER_CONFIG: join(dir, 'no-docker-config'), XDG_CONFIG_HOME: join(dir, 'config'), ...env });
  runners.push(runner);
  return runner;
}

describe('spinel-runner serving from a registry', () => {
  it('is not ready and retries while the registry is down, then pulls, serves, and reports ready; Spin\'s health stays on the app port', async () => {
    const digest = await pushManifest(await writeWatApp(join(dir, 'hello'), 'hello'), `${registry.host}/runner/hello:v1`);
    const relay = await createRelay(registry.port);
    relays.push(relay);
    const runner = run(['--from', `127.0.0.1:${relay.port}/runner/hello:v1`]);
    const admin = await runner.adminUrl();

    expect((await get(`${admin}/livez`)).status).toBe(200);
    const notReady = await get(`${admin}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatch(/not ready/);
    const failed = await runner.waitFor('app.load_failed');
    expect(failed.code).toBe('OCI_NETWORK');
    expect(failed.msg).toContain(`127.0.0.1:${relay.port}/runner/hello:v1`);
    expect(failed.msg).toMatch(/Retrying in/);
    await runner.waitFor('app.load_failed', { after: runner.events.indexOf(failed) + 1 });
    expect((await get(`${admin}/readyz`)).status).toBe(503);

    await relay.up();
    const app = await runner.appUrl();
    await waitForStatus(`${admin}/readyz`, 200);
    const serving = runner.events.find((e) => e.event === 'app.serving');
    expect(serving?.digest).toBe(digest);

    const hello = await get(`${app}/anything`);
    expect(hello.status).toBe(200);
    expect(hello.body).toBe('hello from wat\n');
    expect((await get(`${app}/static`)).body).toBe('static hello\n');
    const health = await get(`${app}/.well-known/spin/health`);
    expect(health.status).toBe(200);
    const info = JSON.parse((await get(`${app}/.well-known/spin/info`)).body) as { name: string; oci_image_digest?: string };
    expect(info.name).toBe('runner-test');
    expect(info.oci_image_digest).toBe(digest);
    // The admin paths are not app routes, and the app's routes are not on the admin port.
    expect((await get(`${admin}/anything`)).status).toBe(404);

    // Registry down after start: still serving.
    await relay.down();
    for (let i = 0; i < 5; i++) expect((await get(`${app}/after-registry-down`)).status).toBe(200);
    expect((await get(`${admin}/readyz`)).status).toBe(200);
  });

  it('/metrics parses as Prometheus text and counts the requests made, by component, route and status', async () => {
    await pushManifest(await writeWatApp(join(dir, 'metrics'), 'hello', 'metrics-app'), `${registry.host}/runner/metrics:v1`);
    const runner = run(['--from', `${registry.host}/runner/metrics:v1`]);
    const app = await runner.appUrl();
    const admin = await runner.adminUrl();
    for (let i = 0; i < 7; i++) expect((await get(`${app}/path/${i}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(`${app}/static`)).status).toBe(200);

    const res = await get(`${admin}/metrics`);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(res.body);
    const requests = families.get('spinel_http_requests_total');
    expect(requests?.type).toBe('counter');
    const value = (labels: Record<string, string>): number | undefined =>
      requests?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value({ component: 'web', route: '/...', status: '200' })).toBe(7);
    expect(value({ component: '', route: '/static', status: '200' })).toBe(3);
    const duration = families.get('spinel_http_request_duration_seconds');
    expect(duration?.type).toBe('histogram');
    expect(duration?.samples.find((s) => s.name === 'spinel_http_request_duration_seconds_count' && s.labels['component'] === 'web')?.value).toBe(7);
    expect(families.get('spinel_ready')?.samples[0]?.value).toBe(1);
    expect(families.get('spinel_http_requests_in_flight')?.samples[0]?.value).toBe(0);
    expect(families.get('spinel_app_pulls_total')?.samples.find((s) => s.labels['outcome'] === 'ok')?.value).toBe(1);
    // The first test pulled the same component into the same cache: a cache hit.
    const blobs = (outcome: string): number => families.get('spinel_app_pull_blobs_total')?.samples.find((s) => s.labels['outcome'] === outcome)?.value ?? -1;
    expect(blobs('cached')).toBeGreaterThan(0);
    expect(blobs('downloaded')).toBeGreaterThan(0);
    expect(families.get('spinel_process_resident_memory_bytes')?.samples[0]?.value).toBeGreaterThan(1024 * 1024);
    expect(families.get('spinel_process_cpu_seconds_total')?.samples[0]?.value).toBeGreaterThan(0);
    expect(families.get('spinel_process_start_time_seconds')?.samples[0]?.value).toBeLessThanOrEqual(Date.now() / 1000);
  });
});
