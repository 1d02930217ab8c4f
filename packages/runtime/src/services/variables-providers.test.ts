import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVariablesProviders, envProvider, staticProvider, vaultProvider } from './variables-providers.js';

// Vault itself cannot be installed on this machine: this loopback server answers as Vault's
// documented KV version 2 API does (GET /v1/<mount>/data/<path> with X-Vault-Token; 200 with the
// secret under data.data, 404 {"errors":[]} for a missing secret, 403 {"errors":["permission
// denied"]} for a bad token), which is all Spin's provider (vaultrs kv2::read) uses.
const TOKEN = 'hvs.TEST-TOKEN-never-printed';
const SECRETS: Record<string, Record<string, Record<string, unknown>>> = {
  secret: { 'app/db_password': { value: 's3cr3t-db' }, api_key: { value: 'k-123' }, 'app/no_value': { other: 'x' } },
};
const seen: Array<{ method: string | undefined; url: string | undefined; token: string | undefined }> = [];

function vaultApi(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ method: req.method, url: req.url, token: req.headers['x-vault-token'] as string | undefined });
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.headers['x-vault-token'] !== TOKEN) return json(403, { errors: ['permission denied'] });
  const m = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(req.url ?? '');
  if (req.method !== 'GET' || m === null) return json(404, { errors: [] });
  const data = SECRETS[decodeURIComponent(m[1] as string)]?.[decodeURIComponent(m[2] as string)];
  if (data === undefined) return json(404, { errors: [] });
  json(200, { request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: { data, metadata: { created_time: '2026-01-01T00:00:00Z', deletion_time: '', destroyed: false, version: 1 } }, wrap_info: null, warnings: null, auth: null });
}

let server: Server;
let url: string;
let dir: string;
beforeAll(async () => {
  server = createServer(vaultApi);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'spinel-var-providers-'));
  await writeFile(join(dir, 'app.env'), 'MYAPP_REGION=from-dotenv\nMYAPP_COLOR=dotenv-color\n');
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('variables providers', () => {
  it('static: answers its values, nothing else', async () => {
    const p = staticProvider(new Map([['region', 'eu']]));
    expect(await p.get('region')).toBe('eu');
    expect(await p.get('other')).toBeUndefined();
  });

  it('env: <PREFIX>_<NAME> from the environment, then the dotenv file', async () => {
    const p = envProvider({ prefix: 'MYAPP', dotenvPath: join(dir, 'app.env'), env: { MYAPP_REGION: 'from-env', SPIN_VARIABLE_REGION: 'not-this' } });
    expect(await p.get('region')).toBe('from-env');
    expect(await p.get('color')).toBe('dotenv-color');
    expect(await p.get('missing')).toBeUndefined();
    expect(await envProvider({ env: { SPIN_VARIABLE_REGION: 'default-prefix' } }).get('region')).toBe('default-prefix');
    expect(await envProvider({ prefix: '', env: { REGION: 'bare' } }).get('region')).toBe('bare');
    expect(await envProvider({ dotenvPath: join(dir, 'absent.env') }).get('region')).toBeUndefined();
  });

  it('vault: reads the KV v2 secret <mount>/data/<prefix>/<name> with the token, its "value" field', async () => {
    seen.length = 0;
    const p = vaultProvider({ url, token: TOKEN, mount: 'secret', prefix: 'app' });
    expect(await p.get('db_password')).toBe('s3cr3t-db');
    expect(seen).toEqual([{ method: 'GET', url: '/v1/secret/data/app/db_password', token: TOKEN }]);
    expect(await vaultProvider({ url: `${url}/`, token: TOKEN, mount: 'secret' }).get('api_key')).toBe('k-123');
    // A secret that does not exist lets the next provider answer, as Spin's 404 handling.
    expect(await p.get('nothing_here')).toBeUndefined();
  });

  it('vault: a refused token, a secret without "value" or an unreachable server stop the start, never showing the token or a value', async () => {
    const messages: string[] = [];
    for (const [provider, name] of [
      [vaultProvider({ url, token: 'wrong-token-also-secret', mount: 'secret' }), 'api_key'],
      [vaultProvider({ url, token: TOKEN, mount: 'secret', prefix: 'app' }), 'no_value'],
      [vaultProvider({ url: 'http://127.0.0.1:1', token: TOKEN, mount: 'secret' }), 'api_key'],
    ] as const) {
      const err = await provider.get(name).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).toBe('RUNTIME_VARIABLE_PROVIDER');
      messages.push(err?.message ?? '');
    }
    expect(messages[0]).toMatch(/refused variable "api_key": HTTP 403 \(permission denied\); check the token/);
    expect(messages[1]).toMatch(/has no string field "value"/);
    expect(messages[2]).toMatch(/could not be reached for variable "api_key": ECONNREFUSED/);
    for (const m of messages) {
      for (const secret of [TOKEN, 'wrong-token-also-secret', 's3cr3t-db', 'k-123']) expect(m).not.toContain(secret);
    }
  });

  it('builds the providers of a runtime config in its order', async () => {
    const providers = createVariablesProviders(
      [
        { type: 'static', values: new Map([['a', 'static-a']]) },
        { type: 'vault', url, token: TOKEN, mount: 'secret' },
        { type: 'env', prefix: 'MYAPP', dotenvPath: join(dir, 'app.env') },
      ],
      { env: {} },
    );
    expect(providers.map((p) => p.description)).toEqual(['static variables provider', `vault variables provider at ${url} (mount "secret")`, 'env variables provider (prefix MYAPP)']);
    expect(await providers[1]?.get('api_key')).toBe('k-123');
    expect(await providers[2]?.get('region')).toBe('from-dotenv');
  });
});
