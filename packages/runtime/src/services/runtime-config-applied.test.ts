// The runtime config's sections applied by createAppCapabilities, as `spinel up` and the runner
// use it: [[client_tls]] and [outbound_http]/[outbound_networking] limits on real outbound
// requests, [[variables_provider]]s in Spin's order, [sqlite_database.*].
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { LockedApp } from '@spinel/manifest';
import { createTestPki, type TestPki } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppCapabilities } from './app-capabilities.js';
import type { OutboundHttp } from './outbound-http.js';
import { parseRuntimeConfig, type RuntimeConfig } from './runtime-config/read-runtime-config.js';

let dir: string;
let pki: TestPki;
let tlsServer: Server;
let tlsPort: number;
let slow: HttpServer;
let slowPort: number;
let open = 0;
let maxOpen = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-rc-applied-'));
  pki = await createTestPki(dir);
  // Its own CA, and a client certificate signed by that CA is required.
  tlsServer = createServer(
    { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey), ca: await readFile(pki.caCert), requestCert: true, rejectUnauthorized: true },
    (req, res) => res.end(`hello ${(req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? 'nobody'}`),
  );
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  tlsPort = (tlsServer.address() as AddressInfo).port;
  // Counts requests being answered at once: with one connection allowed, never more than one.
  slow = createHttpServer((_req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    setTimeout(() => {
      open--;
      res.end('slow');
    }, 150);
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  slowPort = (slow.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  tlsServer.closeAllConnections();
  slow.closeAllConnections();
  await Promise.all([new Promise((r) => tlsServer.close(r)), new Promise((r) => slow.close(r))]);
  await rm(dir, { recursive: true, force: true });
});

function app(extra: { variables?: Record<string, unknown>; databases?: string[] } = {}): LockedApp {
  const allowed = [`https://localhost:${tlsPort}`, `http://127.0.0.1:${slowPort}`, `http://localhost:${slowPort}`];
  return {
    variables: extra.variables ?? {},
    triggers: [],
    components: ['web', 'api'].map((id) => ({ id, source: { content: {} }, metadata: { allowed_outbound_hosts: allowed, databases: extra.databases ?? [] } })),
  } as unknown as LockedApp;
}

const config = (text: string): RuntimeConfig => parseRuntimeConfig(text, { cwd: dir, file: join(dir, 'runtime-config.toml') });
const lookupLocalhost = ((hostname: string, options: unknown, callback: (err: null, address: unknown, family?: number) => void) => {
  const all = (options as { all?: boolean }).all === true;
  if (all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as never;

async function text(outbound: OutboundHttp, componentId: string, scheme: 'http' | 'https', authority: string): Promise<string> {
  try {
    const res = await outbound.send({ componentId, method: 'GET', headers: [], scheme, authority, pathWithQuery: '/' });
    let body = '';
    for await (const chunk of res.body) body += Buffer.from(chunk).toString();
    return `${res.status} ${body}`;
  } catch (err) {
    return `failed: ${JSON.stringify((err as { errorCode?: unknown }).errorCode)}`;
  }
}

describe('runtime config applied to the app', () => {
  it('[[client_tls]]: outbound HTTPS of the listed component trusts the configured CA and presents the client certificate; others get the default trust', async () => {
    await writeFile(join(dir, 'runtime-config.toml'), '');
    const caps = await createAppCapabilities({
      app: app(),
      lookup: lookupLocalhost,
      runtimeConfig: config(`[[client_tls]]\ncomponent_ids = ["web"]\nhosts = ["localhost"]\nca_roots_file = "ca.pem"\nclient_cert_file = "client.pem"\nclient_private_key_file = "client.key"\n`),
    });
    try {
      expect(await text(caps.outbound, 'web', 'https', `localhost:${tlsPort}`)).toBe('200 hello spinel-client');
      expect(await text(caps.outbound, 'api', 'https', `localhost:${tlsPort}`)).toBe('failed: {"tag":"TLS-protocol-error"}');
    } finally {
      await caps.close();
    }
    // A certificate file that cannot be used stops the start, naming it.
    await expect(
      createAppCapabilities({ app: app(), runtimeConfig: config(`[[client_tls]]\ncomponent_ids = ["web"]\nhosts = ["localhost"]\nca_roots_file = "missing.pem"\n`) }),
    ).rejects.toMatchObject({ code: 'RUNTIME_CLIENT_TLS', message: expect.stringContaining('missing.pem') });
  });

  for (const [section, limits] of [
    ['[outbound_http] max_connections', '[outbound_http]\nmax_connections = 1\n'],
    ['[outbound_http] max_concurrent_requests (Spin: one more)', '[outbound_http]\nmax_concurrent_requests = 0\n'],
    ['[outbound_networking] max_total_connections', '[outbound_networking]\nmax_total_connections = 1\n'],
  ] as const) {
    it(`${section}: outbound requests of every component share the limit, waiting for a connection`, async () => {
      maxOpen = 0;
      const caps = await createAppCapabilities({ app: app(), connectionPooling: false, runtimeConfig: config(limits) });
      try {
        const answers = await Promise.all([0, 1, 2, 3].map((i) => text(caps.outbound, i % 2 === 0 ? 'web' : 'api', 'http', `${i < 2 ? '127.0.0.1' : 'localhost'}:${slowPort}`)));
        expect(answers).toEqual(Array(4).fill('200 slow'));
        expect(maxOpen).toBe(1);
      } finally {
        await caps.close();
      }
    });
  }

  it('[[variables_provider]]: asked after --variable and before SPIN_VARIABLE_*, in file order', async () => {
    const caps = await createAppCapabilities({
      app: app({ variables: { a: { required: true }, b: { required: true }, c: { required: true }, d: { default: 'default-d' } } }),
      variables: { flags: ['a=flag-a'], env: { SPIN_VARIABLE_A: 'env-a', SPIN_VARIABLE_B: 'env-b', SPIN_VARIABLE_C: 'env-c', MYAPP_B: 'myapp-b' } },
      runtimeConfig: config('[[variables_provider]]\ntype = "static"\nvalues = { a = "static-a" }\n\n[[variables_provider]]\ntype = "env"\nprefix = "MYAPP"\n\n[[variables_provider]]\ntype = "static"\nvalues = { b = "late-b", c = "static-c" }\n'),
    });
    try {
      expect(Object.fromEntries(caps.variables.values)).toEqual({ a: 'flag-a', b: 'myapp-b', c: 'static-c', d: 'default-d' });
    } finally {
      await caps.close();
    }
  });

  it('[sqlite_database.<label>]: components may list the labels it defines', async () => {
    await expect(createAppCapabilities({ app: app({ databases: ['default', 'orders'] }), keyValue: { tempDir: dir } })).rejects.toMatchObject({ code: 'RUNTIME_SQLITE_UNKNOWN_DATABASE' });
    const caps = await createAppCapabilities({
      app: app({ databases: ['default', 'orders'] }),
      stateDir: join(dir, 'state'),
      runtimeConfig: config('[sqlite_database.orders]\ntype = "spin"\npath = "orders.db"\n'),
    });
    try {
      expect(caps.sqlite.workerInit.databases).toEqual([
        ['orders', { path: join(dir, 'orders.db'), allowAttachFile: false }],
        ['default', { path: join(dir, 'state', 'sqlite_db.db'), allowAttachFile: false }],
      ]);
    } finally {
      await caps.close();
    }
  });
});
