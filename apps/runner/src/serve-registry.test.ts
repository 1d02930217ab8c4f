// End to end: the built runner (`pnpm build` first) serving apps from a real docker-registry,
// reached through a relay that plays the registry going down and up.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, watComponent, type TestRegistry } from '@spinel/test-utils';
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
    // Checking the tag often, so the registry going down after the start is met by checks.
    const runner = run(['--from', `127.0.0.1:${relay.port}/runner/hello:v1`, '--watch-interval', '200ms']);
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

    // Registry down after start: the checks fail and say so, and it keeps serving, ready.
    await relay.down();
    const mark = runner.events.length;
    const unreachable = await runner.waitFor('registry.unreachable', { after: mark });
    expect(unreachable.msg).toContain(`Still serving ${digest}`);
    await runner.waitFor('registry.unreachable', { after: runner.events.indexOf(unreachable) + 1 });
    for (let i = 0; i < 5; i++) expect((await get(`${app}/after-registry-down`)).status).toBe(200);
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    const families = parsePrometheusText((await get(`${admin}/metrics`)).body);
    expect(families.get('spinel_registry_checks_total')?.samples.find((s) => s.labels['outcome'] === 'failed')?.value).toBeGreaterThanOrEqual(2);
    expect(families.get('spinel_app_switches_total')?.samples[0]?.value).toBe(0);
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

  it('never runs a cached component changed on disk: refuses it, pulls the version again once and serves the registry\'s bytes', async () => {
    const ref = `${registry.host}/runner/tampered:v1`;
    const digest = await pushManifest(await writeWatApp(join(dir, 'tampered'), 'hello', 'tampered-app'), ref);
    const cacheDir = join(dir, 'tampered-cache');
    const env = { DOCKER_CONFIG: join(dir, 'no-docker-config'), XDG_CONFIG_HOME: join(dir, 'config') };
    const first = startRunner(['--cache-dir', cacheDir, '--from', ref], env);
    runners.push(first);
    expect((await get(`${await first.appUrl()}/`)).body).toBe('hello from wat\n');
    await first.stop();
    // The attacker's edit: the response text inside the cached component, same size, same file.
    const wasm = await readFile(await watComponent('hello'));
    const blob = join(cacheDir, 'registry', 'wasm', `sha256:${createHash('sha256').update(wasm).digest('hex')}`);
    const cached = await readFile(blob);
    const at = cached.indexOf('hello from wat');
    expect(at).toBeGreaterThan(0);
    cached[at] = 'j'.charCodeAt(0);
    await writeFile(blob, cached);

    const second = startRunner(['--cache-dir', cacheDir, '--from', ref], env);
    runners.push(second);
    const app = await second.appUrl();
    expect((await get(`${app}/`)).body).toBe('hello from wat\n');
    const corrupt = await second.waitFor('app.cache_corrupt');
    expect(corrupt.msg).toContain('does not match its digest');
    expect(corrupt.digest).toBe(digest);
    const pulls = second.events.filter((e) => e.event === 'app.pulled');
    expect(pulls).toHaveLength(2);
    expect(pulls[1]?.downloaded).toBeGreaterThanOrEqual(1);
    expect((await readFile(blob)).equals(wasm)).toBe(true);
    const families = parsePrometheusText((await get(`${await second.adminUrl()}/metrics`)).body);
    expect(families.get('spinel_cache_integrity_failures_total')?.samples[0]?.value).toBe(1);
  }, 300_000);
});
