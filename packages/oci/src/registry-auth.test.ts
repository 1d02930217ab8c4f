import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentials, type Credential } from './credentials.js';
import { OCI_REQUEST_CHANNEL, type OciRequestMessage } from './diagnostics.js';
import { createRegistryClient } from './registry-client.js';
import { collect, makeImage, pushImage } from './test-helpers.js';

const fastRetry = { minDelayMs: 1, maxDelayMs: 20 };
const PASSWORD = 'pa55-Very-Secret-xyz';

function clientWith(host: string, credential?: Credential): ReturnType<typeof createRegistryClient> {
  return createRegistryClient({ retry: fastRetry, ...(credential ? { credentials: staticCredentials({ [host]: credential }) } : {}) });
}

/** Everything an error says, cause chain included. */
function allText(err: unknown): string {
  let text = '';
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    text += `${String((e as Error).message)} ${JSON.stringify(e)}\n`;
  }
  return text;
}

describe('htpasswd Basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { alice: PASSWORD } });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls with the right password', async () => {
    const client = clientWith(registry.host, { kind: 'basic', username: 'alice', password: PASSWORD });
    const repo = client.repository(`${registry.host}/basic/app`);
    const image = makeImage([2000, 3000]);
    const pushed = await pushImage(repo, image, 'v1');
    expect((await repo.fetchManifest('v1')).descriptor.digest).toBe(pushed.digest);
    expect((await repo.pullBlob(image.layers[1]!.descriptor, collect)).equals(image.layers[1]!.bytes)).toBe(true);
    await client.checkAccess(registry.host);
    await client.close();
  });

  it('fails with OCI_UNAUTHORIZED for a wrong password, never echoing it', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const client = clientWith(registry.host, { kind: 'basic', username: 'alice', password: wrong });
    const err = await client.checkAccess(registry.host).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    expect(allText(err)).not.toContain(wrong);
    expect(allText(err)).toContain('alice');
    const pushErr = await client.repository(`${registry.host}/basic/app`).fetchManifest('v1').catch((e: unknown) => e);
    expect(pushErr).toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    expect(allText(pushErr)).not.toContain(wrong);
    await client.close();
  });

  it('fails with OCI_UNAUTHORIZED without credentials', async () => {
    const client = clientWith(registry.host);
    await expect(client.repository(`${registry.host}/basic/app`).fetchManifest('v1')).rejects.toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    await client.close();
  });
});

describe('bearer token auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: { bob: PASSWORD }, refreshTokens: { 'identity-abc': 'bob' } });
  });
  afterAll(async () => registry?.stop());

  it('pushes and pulls, reusing one token per scope', async () => {
    const client = clientWith(registry.host, { kind: 'basic', username: 'bob', password: PASSWORD });
    const repo = client.repository(`${registry.host}/token/app`);
    const before = registry.tokenService!.issued;
    const image = makeImage([1000, 2000, 3000, 4000, 5000]);
    const pushed = await pushImage(repo, image, 'v1');
    const fetched = await repo.fetchManifest('v1');
    expect(fetched.descriptor.digest).toBe(pushed.digest);
    for (const layer of image.layers) expect((await repo.pullBlob(layer.descriptor, collect)).equals(layer.bytes)).toBe(true);
    // One token for pull,push (the pull scope reuses nothing else): far fewer than requests.
    expect(registry.tokenService!.issued - before).toBeLessThanOrEqual(2);
    await client.checkAccess(registry.host);
    await client.close();
  });

  it('re-authenticates when a token is refused in the middle of a transfer', async () => {
    const client = clientWith(registry.host, { kind: 'basic', username: 'bob', password: PASSWORD });
    const repo = client.repository(`${registry.host}/token/reauth`);
    const messages: OciRequestMessage[] = [];
    const listener = (m: unknown): void => void messages.push(m as OciRequestMessage);
    subscribe(OCI_REQUEST_CHANNEL, listener);
    try {
      // The first token is already expired: the registry answers 401 and we must get another.
      registry.tokenService!.expireNext(1);
      const image = makeImage([1500, 2500]);
      const pushed = await pushImage(repo, image, 'v1');
      expect((await repo.fetchManifest('v1')).descriptor.digest).toBe(pushed.digest);
      expect(messages.filter((m) => m.status === 401).length).toBeGreaterThanOrEqual(2);
    } finally {
      unsubscribe(OCI_REQUEST_CHANNEL, listener);
      await client.close();
    }
  });

  it('uses an identity token with the OAuth2 refresh grant', async () => {
    const client = clientWith(registry.host, { kind: 'identity-token', identityToken: 'identity-abc' });
    const repo = client.repository(`${registry.host}/token/identity`);
    const image = makeImage([100]);
    await pushImage(repo, image, 'v1');
    expect((await repo.pullBlob(image.layers[0]!.descriptor, collect)).equals(image.layers[0]!.bytes)).toBe(true);
    await client.close();
  });

  it('reports refused credentials as OCI_UNAUTHORIZED without the password', async () => {
    const wrong = 'not-the-password-123';
    const client = clientWith(registry.host, { kind: 'basic', username: 'bob', password: wrong });
    const err = await client.checkAccess(registry.host).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    expect(allText(err)).not.toContain(wrong);
    await client.close();
  });
});

describe('bearer token auth with access_token and anonymous pull', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: { carol: PASSWORD }, tokenField: 'access_token', anonymousPull: true });
  });
  afterAll(async () => registry?.stop());

  it('reads access_token and lets anonymous clients pull but not push', async () => {
    const writer = clientWith(registry.host, { kind: 'basic', username: 'carol', password: PASSWORD });
    const image = makeImage([700]);
    await pushImage(writer.repository(`${registry.host}/public/app`), image, 'v1');
    await writer.close();

    const anonymous = clientWith(registry.host);
    const repo = anonymous.repository(`${registry.host}/public/app`);
    expect((await repo.pullBlob(image.layers[0]!.descriptor, collect)).equals(image.layers[0]!.bytes)).toBe(true);
    await expect(pushImage(repo, makeImage([10]), 'v2')).rejects.toMatchObject({ code: 'OCI_UNAUTHORIZED' });
    await anonymous.close();
  });
});
