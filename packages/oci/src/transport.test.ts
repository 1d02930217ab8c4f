import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentials } from './credentials.js';
import { OCI_REQUEST_CHANNEL } from './diagnostics.js';
import { RegistryTransport } from './transport.js';
import { createRegistryClient } from './registry-client.js';
import { collect, makeImage, pushImage } from './test-helpers.js';

describe('scheme choice', () => {
  it('uses HTTPS unless insecure or loopback', () => {
    const strict = new RegistryTransport();
    expect(strict.baseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(strict.baseUrl('registry.local:5000')).toBe('https://registry.local:5000');
    expect(strict.baseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(strict.baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(strict.baseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(new RegistryTransport({ insecure: true }).baseUrl('ghcr.io')).toBe('http://ghcr.io');
    const list = new RegistryTransport({ insecure: ['registry.local:5000'] });
    expect(list.baseUrl('registry.local:5000')).toBe('http://registry.local:5000');
    expect(list.baseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(new RegistryTransport({ loopbackPlainHttp: false }).baseUrl('127.0.0.1:5000')).toBe('https://127.0.0.1:5000');
  });
});

describe('HTTPS registry with Basic auth through an injected dispatcher', () => {
  let registry: TestRegistry;
  const password = 'tls-Secret-0987';
  beforeAll(async () => {
    registry = await startRegistry({ tls: true, auth: 'htpasswd', users: { tess: password } });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls over TLS, and never publishes credentials or tokens on the diagnostics channel', async () => {
    const dispatcher = new Agent({ connect: { ca: registry.ca! } });
    const seen: string[] = [];
    const listener = (m: unknown): void => void seen.push(JSON.stringify(m));
    subscribe(OCI_REQUEST_CHANNEL, listener);
    const client = createRegistryClient({
      dispatcher,
      loopbackPlainHttp: false,
      credentials: staticCredentials({ [registry.host]: { kind: 'basic', username: 'tess', password } }),
    });
    try {
      const repo = client.repository(`${registry.host}/tls/app`);
      const image = makeImage([4000]);
      await pushImage(repo, image, 'v1');
      expect((await repo.pullBlob(image.layers[0]!.descriptor, collect)).equals(image.layers[0]!.bytes)).toBe(true);
      expect(seen.length).toBeGreaterThan(3);
      const all = seen.join('\n');
      expect(all).not.toContain(password);
      expect(all).not.toContain(Buffer.from(`tess:${password}`).toString('base64'));
    } finally {
      unsubscribe(OCI_REQUEST_CHANNEL, listener);
      await client.close();
      await dispatcher.close();
    }
  });

  it('fails with OCI_NETWORK when the certificate is not trusted', async () => {
    const client = createRegistryClient({ loopbackPlainHttp: false, retry: { retries: 0 } });
    await expect(client.repository(`${registry.host}/tls/app`).fetchManifest('v1')).rejects.toMatchObject({ code: 'OCI_NETWORK' });
    await client.close();
  });
});

describe('timeouts', () => {
  it('retries a request whose answer never comes', async () => {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (requests === 1) return; // hang: no answer at all
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:' + '0'.repeat(64) + '","size":1},"layers":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const dispatcher = new Agent({ headersTimeout: 300 });
    const client = createRegistryClient({ dispatcher, retry: { minDelayMs: 1, maxDelayMs: 5 } });
    try {
      const fetched = await client.repository(`127.0.0.1:${port}/slow/app`).fetchManifest('v1');
      expect(fetched.bytes.byteLength).toBeGreaterThan(0);
      expect(requests).toBe(2);
    } finally {
      await client.close();
      await dispatcher.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
