// End to end under load (20 keep-alive connections): SIGTERM drains without failing a request
// sent before the signal, and a tag moved to a new digest switches without failing any, while
// digests that do not verify or prepare never serve. The built runner, a real docker-registry.
// Waits are generous and every deadline is a bound, never a pace: a loaded machine only makes
// them slower (the drain limit is far above a request's time, so it never cuts one).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from './test-prometheus.js';
import { corruptRegistryBlob, get, manifestLayers, pushManifest, startLoad, startRunner, writeWatApp, type RunnerProcess } from './test-helpers.js';

let registry: TestRegistry;
let dir: string;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-drain-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): RunnerProcess {
  const runner = startRunner(['--cache-dir', join(dir, `cache-${runners.length}`), '--workers', '2', ...args], { DOCKER_CONFIG: join(dir, 'none'), XDG_CONFIG_HOME: join(dir, 'config') });
  runners.push(runner);
  return runner;
}

describe('spinel-runner under load', () => {
  it('on SIGTERM fails readiness, answers every request sent before the signal, and exits 0', async () => {
    await pushManifest(await writeWatApp(join(dir, 'drain'), 'hello', 'drain-app'), `${registry.host}/runner/drain:v1`);
    const runner = run(['--from', `${registry.host}/runner/drain:v1`, '--shutdown-timeout', '60s']);
    const app = await runner.appUrl();
    const admin = await runner.adminUrl();
    expect((await get(`${admin}/readyz`)).status).toBe(200);

    const load = startLoad(`${app}/work`, 20);
    await load.answered(200);
    const signalAt = performance.now();
    runner.child.kill('SIGTERM');
    // Readiness fails at once, while the drain goes on (the admin listener stays up until the end).
    await runner.waitFor('runner.draining', { timeoutMs: 120_000 });
    const during = await get(`${admin}/readyz`);
    expect(during.status).toBe(503);
    expect(during.body).toContain('draining');
    const exit = await runner.exited;
    await load.stop();

    expect(exit).toBe(0);
    const before = load.records.filter((r) => r.sentAt < signalAt);
    expect(before.length).toBeGreaterThanOrEqual(200);
    const failed = before.filter((r) => r.error !== undefined || r.status !== 200 || r.body !== 'hello from wat\n');
    expect(failed.map((r) => r.error ?? `${r.status} ${r.body}`)).toEqual([]);
    expect(runner.events.map((e) => e.event)).toEqual(expect.arrayContaining(['runner.signal', 'runner.draining', 'runner.stopped']));
  }, 600_000);

  it('switches to a new digest of the tag under load without a failed request, drains the old one, and never serves a digest that does not verify or prepare', async () => {
    const repo = 'runner/switch';
    const v1 = await pushManifest(await writeWatApp(join(dir, 'v1'), 'hello', 'switch-app'), `${registry.host}/${repo}:live`);
    const runner = run(['--from', `${registry.host}/${repo}:live`, '--watch-interval', '300ms', '--shutdown-timeout', '60s']);
    const app = await runner.appUrl();
    const admin = await runner.adminUrl();
    expect((await runner.waitFor('app.serving', { timeoutMs: 240_000 })).digest).toBe(v1);

    const load = startLoad(`${app}/work`, 20);
    try {
      await load.answered(100);
      const beforeV2 = performance.now();
      // v2 answers 201 (the echo component) where v1 answered 200.
      const v2 = await pushManifest(await writeWatApp(join(dir, 'v2'), 'echo', 'switch-app'), `${registry.host}/${repo}:live`);
      const switched = await runner.waitFor('app.switched', { timeoutMs: 240_000 });
      expect(switched.digest).toBe(v2);
      expect(switched.previous).toBe(v1);
      const drained = await runner.waitFor('app.drained', { timeoutMs: 120_000 });
      expect(drained.digest).toBe(v1);
      const afterDrain = performance.now();
      await load.answered(150);

      // A digest whose component the host cannot run: prepared, refused, never served.
      const mark = runner.events.length;
      const v3 = await pushManifest(await writeWatApp(join(dir, 'v3'), 'unknown-import', 'switch-app'), `${registry.host}/${repo}:live`);
      const refused = await runner.waitFor('app.update_failed', { after: mark, timeoutMs: 240_000 });
      expect(refused.digest).toBe(v3);
      expect(refused.code).toBe('RUNTIME_UNSUPPORTED_IMPORTS');
      await load.answered(50);

      // A digest whose component blob the registry serves corrupted: it never verifies.
      const mark2 = runner.events.length;
      const v4 = await pushManifest(await writeWatApp(join(dir, 'v4'), 'counter', 'switch-app'), `${registry.host}/${repo}:staging`);
      const wasmLayer = (await manifestLayers(registry.url, repo, v4)).find((l) => l.mediaType === 'application/vnd.wasm.content.layer.v1+wasm');
      expect(wasmLayer).toBeDefined();
      await corruptRegistryBlob(registry.storageDir, wasmLayer?.digest ?? '');
      const manifest = await fetch(`${registry.url}/v2/${repo}/manifests/${v4}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      const retag = await fetch(`${registry.url}/v2/${repo}/manifests/live`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: Buffer.from(await manifest.arrayBuffer()),
      });
      expect(retag.status).toBe(201);
      const unverified = await runner.waitFor('app.update_failed', { after: mark2, timeoutMs: 240_000 });
      expect(unverified.digest).toBe(v4);
      expect(unverified.code).toBe('OCI_DIGEST_MISMATCH');
      await load.answered(50);
      await load.stop();

      const records = load.records;
      expect(records.length).toBeGreaterThanOrEqual(350);
      expect(records.filter((r) => r.error !== undefined).map((r) => r.error)).toEqual([]);
      expect(records.filter((r) => r.status !== 200 && r.status !== 201).map((r) => r.status)).toEqual([]);
      // Before v2 was pushed, v1 answered; once the old version was drained, only v2 answers.
      expect(records.filter((r) => r.doneAt < beforeV2).every((r) => r.status === 200 && r.body === 'hello from wat\n')).toBe(true);
      const late = records.filter((r) => r.sentAt > afterDrain);
      expect(late.length).toBeGreaterThanOrEqual(150);
      expect(late.every((r) => r.status === 201)).toBe(true);
      expect(records.some((r) => r.status === 200) && records.some((r) => r.status === 201)).toBe(true);

      expect((await get(`${admin}/readyz`)).body).toContain(v2);
      const metrics = parsePrometheusText((await get(`${admin}/metrics`)).body);
      expect(metrics.get('spinel_app_switches_total')?.samples[0]?.value).toBe(1);
      expect(metrics.get('spinel_app_prepare_failures_total')?.samples[0]?.value).toBe(2);
      expect(metrics.get('spinel_app_info')?.samples.map((s) => s.labels['digest'])).toEqual([v2]);
    } finally {
      await load.stop();
    }
  }, 1_200_000);
});
