// A Spin 1 module's outbound-redis, outbound-pg and outbound-mysql imports, served by runApp, reach
// a real redis-server, PostgreSQL and MariaDB through the same services a component's
// `fermyon:spin/*` interfaces use, within the component's allowed_outbound_hosts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { spin1ModuleFile, startMariaDb, startPostgres, startRedis, type MariaDbServer, type PostgresServer, type RedisServer } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApp, type RunningApp } from '../../run-app.js';

let dir: string;
let redis: RedisServer;
let unlistedRedis: RedisServer;
let pg: PostgresServer;
let db: MariaDbServer;
let running: RunningApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-spin1-services-'));
  [redis, unlistedRedis, pg, db] = await Promise.all([startRedis(), startRedis(), startPostgres(), startMariaDb()]);
  const app: LockedApp = {
    metadata: { name: 'spin1-services' },
    triggers: [{ id: 't', trigger_type: 'http', trigger_config: { component: 'services', route: '/...' } }],
    components: [
      {
        id: 'services',
        source: { content_type: 'application/wasm', source: pathToFileURL(await spin1ModuleFile('services', dir)).href },
        metadata: { allowed_outbound_hosts: [`redis://127.0.0.1:${redis.port}`, `postgres://127.0.0.1:${pg.port}`, `mysql://127.0.0.1:${db.port}`] },
      },
    ],
  };
  running = await runApp({ app, cache: openCache({ root: join(dir, 'cache') }), stateDir: join(dir, 'state'), logDir: null, workers: 1, listen: '127.0.0.1:0' });
}, 600_000);

afterAll(async () => {
  await running?.close();
  await Promise.all([redis?.stop(), unlistedRedis?.stop(), pg?.stop(), db?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function call(path: string, address: string): Promise<{ status: number; count: string | null; body: string }> {
  const res = await fetch(`${running.baseUrl}${path}`, { method: 'POST', body: address });
  return { status: res.status, count: res.headers.get('x-count'), body: await res.text() };
}

describe('Spin 1 modules reach the outbound services', () => {
  it('outbound-redis sets, increments and gets on an allowed server, one fresh instance per request', async () => {
    expect(await call('/redis', redis.url)).toEqual({ status: 201, count: null, body: 'from spin1' });
    expect(await call('/redis', redis.url)).toEqual({ status: 202, count: null, body: 'from spin1' });
  });

  it('outbound-redis answers its error for a server the component may not reach, which sees nothing', async () => {
    expect(await call('/redis', unlistedRedis.url)).toEqual({ status: 500, count: null, body: 'redis error' });
    const res = await fetch(`${running.baseUrl}/redis`, { method: 'POST', body: redis.url });
    expect(res.status).toBe(203); // the allowed server's counter went on; the other got no SET
  });

  it('outbound-pg runs execute (rows affected) and a query with text and int parameters', async () => {
    expect(await call('/pg', pg.url)).toEqual({ status: 201, count: '3', body: 'from spin1!' });
  });

  it("outbound-pg answers connection-failed's text for an address outside allowed_outbound_hosts", async () => {
    const refused = await call('/pg', pg.url.replace(`127.0.0.1:${pg.port}`, `127.0.0.1:${unlistedRedis.port}`));
    expect(refused.status).toBe(500);
    expect(refused.body).toMatch(/is not permitted/);
  });

  it('outbound-mysql runs execute and a query with text and int parameters', async () => {
    expect(await call('/mysql', db.url)).toEqual({ status: 201, count: null, body: 'from spin1!' });
  });
});
