import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createTestPki, type TestPki } from '@spinel/test-utils';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClientTls, type ClientTlsConfig } from './client-tls.js';

// A loopback HTTPS server with its own CA that requires a client certificate signed by that CA:
// the [[client_tls]] settings are handed to undici's connect options as outbound HTTP does.
let dir: string;
let pki: TestPki;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-client-tls-'));
  pki = await createTestPki(dir);
  server = createServer(
    { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey), ca: await readFile(pki.caCert), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(`hello ${peer.subject?.CN ?? 'nobody'}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function get(connect: object | undefined): Promise<string> {
  const agent = new Agent({ connect: { ...connect, servername: 'localhost' } });
  try {
    const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent });
    return `${res.statusCode} ${await res.body.text()}`;
  } catch (err) {
    return `failed: ${(err as { code?: string }).code ?? (err as Error).message}`;
  } finally {
    await agent.close();
  }
}

describe('[[client_tls]]', () => {
  type Loose = { [K in keyof ClientTlsConfig]?: ClientTlsConfig[K] | undefined };
  const entry = (extra: Loose = {}): ClientTlsConfig => {
    const merged: Loose = { componentIds: ['web'], hosts: ['localhost', 'api.example.com'], caRootsFile: pki.caCert, clientCertFile: pki.clientCert, clientPrivateKeyFile: pki.clientKey, ...extra };
    return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as unknown as ClientTlsConfig;
  };

  it('trusts the configured roots and presents the client certificate for its component and host', async () => {
    const tls = await loadClientTls([entry()]);
    const settings = tls.forRequest('web', 'LOCALHOST');
    expect(settings?.connect.ca).toHaveLength(1);
    expect(await get(settings?.connect)).toBe('200 hello spinel-client');
  });

  it('without the entry (another component, another host) the server is not trusted: the default roots do not know its CA', async () => {
    const tls = await loadClientTls([entry()]);
    expect(tls.forRequest('other', 'localhost')).toBeUndefined();
    expect(tls.forRequest('web', 'elsewhere.example.com')).toBeUndefined();
    expect(await get(undefined)).toMatch(/^failed: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
  });

  it('the right roots without a client certificate: the server refuses the handshake', async () => {
    const tls = await loadClientTls([entry({ clientCertFile: undefined, clientPrivateKeyFile: undefined })]);
    expect(await get(tls.forRequest('web', 'localhost')?.connect)).toMatch(/^failed: /);
  });

  it('roots of another CA do not verify the server', async () => {
    const tls = await loadClientTls([entry({ caRootsFile: pki.otherCaCert })]);
    expect(await get(tls.forRequest('web', 'localhost')?.connect)).toMatch(/^failed: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)/);
  });

  it('the first matching entry wins; default roots are added as Spin decides', async () => {
    const tls = await loadClientTls([
      entry({ componentIds: ['web'], hosts: ['localhost'] }),
      entry({ componentIds: ['web', 'api'], hosts: ['localhost'], caUseWebpkiRoots: true, clientCertFile: undefined, clientPrivateKeyFile: undefined }),
    ]);
    expect(tls.forRequest('web', 'localhost')?.id).toBe(0);
    const api = tls.forRequest('api', 'localhost');
    expect(api?.id).toBe(1);
    expect(api?.connect.ca.length).toBeGreaterThan(100);
    expect(api?.connect.cert).toBeUndefined();
    const platformOnly = await loadClientTls([{ componentIds: ['web'], hosts: ['x'] }]);
    expect(platformOnly.forRequest('web', 'x')?.connect.ca.length).toBeGreaterThan(100);
  });

  it('refuses files that cannot be used, naming the file and never printing its contents', async () => {
    await writeFile(join(dir, 'not-pem.txt'), 'SECRET-CONTENT');
    const cases: Array<[Loose, RegExp]> = [
      [{ caRootsFile: join(dir, 'missing.pem') }, /ca_roots_file ".*missing.pem" cannot be read: ENOENT/],
      [{ caRootsFile: join(dir, 'not-pem.txt') }, /ca_roots_file ".*not-pem.txt" holds no PEM certificate/],
      [{ clientPrivateKeyFile: join(dir, 'not-pem.txt') }, /client_private_key_file ".*not-pem.txt" is not a PEM private key/],
      [{ clientPrivateKeyFile: pki.serverKey }, /is not the key of client_cert_file/],
      [{ caRootsFile: undefined, caUsePlatformRoots: false }, /trusts no root/],
    ];
    for (const [extra, message] of cases) {
      const err = await loadClientTls([entry(extra)]).then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
      expect(err?.code).toBe('RUNTIME_CLIENT_TLS');
      expect(err?.message).toMatch(message);
      expect(err?.message).not.toContain('SECRET-CONTENT');
    }
  });
});
