// End to end: where the app comes from — a registry that needs credentials (a mounted Docker
// config.json, as a Kubernetes image pull secret provides it), an OCI layout directory
// (followed like a tag), and a local spin.toml re-read on SIGHUP.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, pushManifest, startRunner, waitForStatus, writeWatApp, type RunnerProcess } from './test-helpers.js';

let registry: TestRegistry;
let dir: string;
const runners: RunnerProcess[] = [];
const PASSWORD = 's3cret-Pa55word';

beforeAll(async () => {
  registry = await startRegistry({ auth: 'htpasswd', users: { puller: PASSWORD } });
  dir = await mkdtemp(join(tmpdir(), 'spinel-runner-sources-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}): RunnerProcess {
  const runner = startRunner(['--cache-dir', join(dir, `cache-${runners.length}`), '--workers', '1', ...args], { XDG_CONFIG_HOME: join(dir, 'config'), DOCKER_CONFIG: join(dir, 'none'), ...env });
  runners.push(runner);
  return runner;
}

describe('spinel-runner app sources', () => {
  it('pulls from a registry with the credentials of a mounted Docker config.json, never logging them; without them it is not ready', async () => {
    const reference = `${registry.host}/private/app:v1`;
    await pushManifest(await writeWatApp(join(dir, 'private'), 'hello', 'private-app'), reference, { registry: registry.host, username: 'puller', password: PASSWORD });

    const anonymous = run(['--from', reference]);
    const refused = await anonymous.waitFor('app.load_failed');
    expect(refused.code).toBe('OCI_UNAUTHORIZED');
    expect((await get(`${await anonymous.adminUrl()}/readyz`)).status).toBe(503);

    // A kubernetes.io/dockerconfigjson Secret's .dockerconfigjson, mounted as config.json.
    const secretDir = join(dir, 'pull-secret');
    await mkdir(secretDir, { recursive: true });
    const auth = Buffer.from(`puller:${PASSWORD}`).toString('base64');
    await writeFile(join(secretDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { username: 'puller', password: PASSWORD, auth } } }));
    const runner = run(['--from', reference, '--log-requests'], { DOCKER_CONFIG: secretDir });
    const app = await runner.appUrl();
    expect((await get(`${app}/`)).body).toBe('hello from wat\n');
    await runner.stop();
    await anonymous.stop();
    const logs = [...runner.events, ...anonymous.events].map((e) => JSON.stringify(e)).join('\n') + runner.stderr() + anonymous.stderr();
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(auth);
    expect(runner.events.some((e) => e.event === 'http.request' && e.status === 200)).toBe(true);
  });

  it('serves from an OCI layout directory and follows its tag', async () => {
    const layout = join(dir, 'layout');
    const v1 = await pushManifest(await writeWatApp(join(dir, 'layout-v1'), 'hello', 'layout-app'), `oci:${layout}:stable`);
    const runner = run(['--from', `oci:${layout}:stable`, '--watch-interval', '200ms']);
    const app = await runner.appUrl();
    expect((await runner.waitFor('app.serving')).digest).toBe(v1);
    expect((await get(`${app}/x`)).status).toBe(200);
    const v2 = await pushManifest(await writeWatApp(join(dir, 'layout-v2'), 'echo', 'layout-app'), `oci:${layout}:stable`);
    expect((await runner.waitFor('app.switched')).digest).toBe(v2);
    expect((await get(`${app}/x`)).status).toBe(201);
  });

  it('serves a local spin.toml and re-reads it on SIGHUP, switching without failing readiness', async () => {
    const manifest = await writeWatApp(join(dir, 'local'), 'hello', 'local-app');
    const runner = run(['--from', manifest]);
    const app = await runner.appUrl();
    const admin = await runner.adminUrl();
    expect((await get(`${app}/static`)).body).toBe('static hello\n');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('static hello', 'static hello again'));
    runner.child.kill('SIGHUP');
    await runner.waitFor('app.switched');
    expect((await get(`${app}/static`)).body).toBe('static hello again\n');
    await waitForStatus(`${admin}/readyz`, 200);
    await runner.waitFor('app.drained');
  });
});
