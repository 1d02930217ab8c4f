// End to end: what the runtime tells the runner reaches /metrics and the structured log — queue
// depth and workers, instances made, guest traps and timeouts, outbound calls allowed and denied
// by scheme, key-value operations by store, and guest stdout/stderr as log lines with the
// component id. The built runner serving a local spin.toml.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watComponent } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, type Family } from './test-prometheus.js';
import { counterComponent, fetchComponent, get, startRunner, type RunnerProcess } from './test-helpers.js';

let dir: string;
let upstream: Server;
let upstreamOrigin: string;
let runner: RunnerProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-reporting-'));
  upstream = createServer((req, res) => res.end(`upstream saw ${req.url}`));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamOrigin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('spinel-runner reporting what the runtime does', () => {
  it('counts queue, workers, instances, traps, timeouts, outbound calls and key-value operations, and logs guest output with the component id', async () => {
    const appDir = join(dir, 'app');
    await mkdir(appDir, { recursive: true });
    const wat = ['hello', 'echo', 'trap', 'loop'] as const;
    await Promise.all(wat.map(async (name) => copyFile(await watComponent(name), join(appDir, `${name}.wasm`))));
    await copyFile(await counterComponent(), join(appDir, 'counter.wasm'));
    await copyFile(await fetchComponent(), join(appDir, 'fetch.wasm'));
    const denied = 'http://127.0.0.2:9';
    await writeFile(
      join(appDir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "reporting"
${wat.map((name) => `[[trigger.http]]\nroute = "/${name}"\ncomponent = "${name}"\n[component.${name}]\nsource = "${name}.wasm"\n`).join('')}
[[trigger.http]]
route = "/increment"
component = "counter"
[[trigger.http]]
route = "/read"
component = "counter"
[component.counter]
source = "counter.wasm"
key_value_stores = ["shared"]
[[trigger.http]]
route = "/fetch"
component = "fetch"
[component.fetch]
source = "fetch.wasm"
allowed_outbound_hosts = ["${upstreamOrigin}"]
`,
    );
    await writeFile(join(dir, 'runtime-config.toml'), `[key_value_store.shared]\ntype = "spin"\npath = "shared.db"\n`);
    runner = startRunner(
      ['--from', join(appDir, 'spin.toml'), '--runtime-config-file', join(dir, 'runtime-config.toml'), '--workers', '1', '--request-timeout', '5s', '--cache-dir', join(dir, 'cache'), '--state-dir', join(dir, 'state')],
      { DOCKER_CONFIG: join(dir, 'none'), XDG_CONFIG_HOME: join(dir, 'config') },
    );
    const app = await runner.appUrl();
    const admin = await runner.adminUrl();
    const metrics = async (): Promise<Map<string, Family>> => parsePrometheusText((await get(`${admin}/metrics`)).body);

    // Queue depth: the only worker holds an echo request whose body never ends; two more echo
    // requests wait (a component holding every regular worker gets no extra one: the pool's
    // standby worker is for the other components).
    const held: ClientRequest = request(`${app}/echo`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
    held.on('error', () => undefined);
    held.write('part');
    const waiting = [get(`${app}/echo`), get(`${app}/echo`)];
    let families = await metrics();
    for (let i = 0; i < 200 && sample(families, 'spinel_queue_depth') !== 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      families = await metrics();
    }
    expect(sample(families, 'spinel_queue_depth')).toBe(2);
    expect(sample(families, 'spinel_workers', { state: 'busy' })).toBe(1);
    // The regular worker, and the standby when it has started.
    expect(sample(families, 'spinel_workers', { state: 'total' })).toBeGreaterThanOrEqual(1);
    held.destroy();
    for (const res of await Promise.all(waiting)) expect([res.status, res.body]).toEqual([201, '']);
    for (let i = 0; i < 2; i++) expect(await get(`${app}/hello`)).toMatchObject({ status: 200, body: 'hello from wat\n' });

    expect((await get(`${app}/trap`)).status).toBe(500);
    for (let i = 1; i <= 3; i++) expect(await get(`${app}/increment`)).toMatchObject({ status: 200, body: String(i) });
    expect(await get(`${app}/read`)).toMatchObject({ status: 200, body: '3' });
    const fetchWith = (target: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${app}/fetch`, { headers: { 'x-target': target } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await fetchWith(`${upstreamOrigin}/up`)).toEqual({ status: 200, body: 'status=200 body=upstream saw /up' });
    expect((await fetchWith(`${denied}/x`)).status).toBe(502);
    // Last: a deadline stops the worker, and its replacement must load every component again.
    expect((await get(`${app}/loop`)).status).toBe(500);

    families = await metrics();
    expect(sample(families, 'spinel_queue_depth')).toBe(0);
    expect(families.get('spinel_instances_created_total')?.type).toBe('counter');
    expect(sample(families, 'spinel_instances_created_total', { component: 'hello' })).toBeGreaterThanOrEqual(2);
    expect(sample(families, 'spinel_instances_created_total', { component: 'counter' })).toBeGreaterThanOrEqual(4);
    expect(sample(families, 'spinel_guest_traps_total', { component: 'trap' })).toBe(1);
    expect(sample(families, 'spinel_guest_timeouts_total', { component: 'loop' })).toBe(1);
    expect(sample(families, 'spinel_outbound_requests_total', { component: 'fetch', scheme: 'http', outcome: 'allowed' })).toBe(1);
    expect(sample(families, 'spinel_outbound_requests_total', { component: 'fetch', scheme: 'http', outcome: 'denied' })).toBe(1);
    expect(sample(families, 'spinel_key_value_operations_total', { store: 'shared', op: 'increment' })).toBe(3);
    expect(sample(families, 'spinel_key_value_operations_total', { store: 'shared', op: 'get' })).toBe(1);

    // Guest output: one log line per line written, naming the component and the stream.
    const lines = (component: string, stream: string): string[] => runner?.events.filter((e) => e.event === 'guest.output' && e.component === component && e.stream === stream).map((e) => e.msg) ?? [];
    for (let i = 0; i < 100 && lines('fetch', 'stderr').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lines('hello', 'stdout')).toEqual(['log line from wat', 'log line from wat']);
    expect(lines('fetch', 'stdout')).toEqual([`fetching ${upstreamOrigin}/up`, `fetching ${denied}/x`]);
    expect(lines('fetch', 'stderr')).toEqual(['a line on stderr', 'a line on stderr']);
    expect(runner.events.find((e) => e.event === 'outbound.denied')).toMatchObject({ component: 'fetch', destination: denied });
    families = await metrics();
    expect(sample(families, 'spinel_guest_output_lines_total', { component: 'fetch', stream: 'stderr' })).toBe(2);
  }, 600_000); // the first run builds the JS components (componentize-js)
});
