// runApp: the one call `spinel up` (and the runner) use to run an app.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { componentFromWat, watComponent } from '@spinel/test-utils';
import type { LockedApp } from '@spinel/manifest';
import { runApp } from './run-app.js';
import { testApp } from '../test/test-app.js';
import { PING_WAT, pingCapability } from '../test/test-ping-capability.js';

let dir: string;
let cache: Cache;
let helloPath: string;
let pingPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-runapp-'));
  cache = openCache({ root: join(dir, 'cache') });
  helloPath = await watComponent('hello');
  pingPath = join(dir, 'ping.wasm');
  await writeFile(pingPath, await componentFromWat(PING_WAT, 'http-unknown'));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function withStatic(app: LockedApp): LockedApp {
  app.triggers.push({ id: 'static', trigger_type: 'http', trigger_config: { route: '/static', static_response: { status_code: 201, body: 'static body' } } });
  return app;
}

describe('runApp', () => {
  it('serves components and static responses on the bound address, then stops everything', async () => {
    const running = await runApp({ app: withStatic(testApp([{ id: 'hello', path: helloPath }])), cache, listen: '127.0.0.1:0', workers: 1 });
    try {
      expect(running.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(running.trigger?.selfOrigin).toBe(running.baseUrl);
      expect(running.startupText()).toContain(`Serving ${running.baseUrl}`);
      const hello = await fetch(`${running.baseUrl}/hello`);
      expect([hello.status, await hello.text()]).toEqual([200, 'hello from wat\n']);
      const fixed = await fetch(`${running.baseUrl}/static`);
      expect([fixed.status, await fixed.text()]).toEqual([201, 'static body']);
      expect(running.executor?.workerCount).toBe(1);
    } finally {
      await running.close();
    }
    expect(running.executor?.workerCount).toBe(0);
    await expect(fetch(`${running.baseUrl}/hello`)).rejects.toThrow();
  }, 60_000);

  it('locks a manifest itself, and starts no workers for an app of static responses', async () => {
    const appDir = await mkdtemp(join(dir, 'manifest-'));
    await writeFile(
      join(appDir, 'spin.toml'),
      'spin_manifest_version = 2\n[application]\nname = "fixed"\n[[trigger.http]]\nroute = "/..."\nstatic_response = { status_code = 200, body = "fixed" }\n',
    );
    const running = await runApp({ manifestPath: join(appDir, 'spin.toml'), listen: '127.0.0.1:0' });
    try {
      expect(running.executor).toBeUndefined();
      expect(await (await fetch(`${running.baseUrl}/anything`)).text()).toBe('fixed');
    } finally {
      await running.close();
    }
  });

  it('serves an interface added through the capability seam, and only where it is given', async () => {
    const app = testApp([{ id: 'pinger', path: pingPath }]);
    await expect(runApp({ app, cache, listen: '127.0.0.1:0', workers: 1 })).rejects.toMatchObject({
      code: 'RUNTIME_UNSUPPORTED_IMPORTS',
      message: expect.stringContaining('spinel:fixtures/unknown@0.1.0'),
    });
    const ping = pingCapability();
    const running = await runApp({ app, cache, listen: '127.0.0.1:0', workers: 1, capabilities: [ping.capability] });
    try {
      // The guest pings over the channel, then traps: 500, and the main thread saw the call.
      expect((await fetch(`${running.baseUrl}/pinger`)).status).toBe(500);
      expect(ping.pings).toEqual(['pinger']);
      expect(ping.workerInits()).toBe(1);
    } finally {
      await running.close();
    }
    expect(ping.closed()).toBe(true);
  }, 60_000);

  it('loads a capability in workers only when a component imports one of its interfaces', async () => {
    const ping = pingCapability();
    const running = await runApp({ app: testApp([{ id: 'hello', path: helloPath }]), cache, listen: '127.0.0.1:0', workers: 1, capabilities: [ping.capability] });
    try {
      expect((await fetch(`${running.baseUrl}/hello`)).status).toBe(200);
      // hello imports nothing the ping capability serves: no worker asked for its init data.
      expect(ping.workerInits()).toBe(0);
    } finally {
      await running.close();
    }
  }, 60_000);

  it('stops what it started when the start fails', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const ping = pingCapability();
    try {
      await expect(
        runApp({ app: testApp([{ id: 'hello', path: helloPath }]), cache, listen: `127.0.0.1:${port}`, workers: 1, capabilities: [ping.capability] }),
      ).rejects.toMatchObject({ code: 'RUNTIME_HTTP_ADDRESS_IN_USE' });
      expect(ping.closed()).toBe(true);
    } finally {
      taken.close();
    }
  }, 60_000);
});
