import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBridgeServer } from '../channel/bridge-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedApp } from '@spinel/manifest';
import { InterfaceSet } from '../prepare/interface-set.js';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { parseRuntimeConfig } from './runtime-config/read-runtime-config.js';
import { createAppCapabilities } from './app-capabilities.js';
import type { CapabilityError } from '../errors.js';
import { startCountingServer, type CountingServer } from '../../test/test-servers.js';
import { firstMessage, startTsWorker } from '../../test/test-start-worker.js';

let upstream: CountingServer;
let denied: CountingServer;
beforeAll(async () => {
  upstream = await startCountingServer((req, res) => res.end(`upstream ${req.url}`));
  denied = await startCountingServer();
});
afterAll(async () => {
  await Promise.all([upstream.close(), denied.close()]);
});

function app(port: number): LockedApp {
  return {
    variables: { who: { default: 'world' }, upstream_port: { default: String(port) }, api_token: { secret: true } },
    triggers: [],
    components: [
      {
        id: 'web',
        source: { content: {} },
        config: { greeting: 'hello {{ who }}', token: '{{ api_token }}' },
        metadata: { allowed_outbound_hosts: ['http://127.0.0.1:{{ upstream_port }}', 'http://self'], key_value_stores: ['default'] },
      },
    ],
  } as unknown as LockedApp;
}

describe('capabilities wired into the engine registry', () => {
  it('refuses to start without a required variable, naming it and not its neighbours\' values', async () => {
    let err: CapabilityError | undefined;
    try {
      await createAppCapabilities({ app: app(upstream.port) });
    } catch (e) {
      err = e as CapabilityError;
    }
    expect(err?.code).toBe('RUNTIME_VARIABLE_REQUIRED');
    expect(err?.message).toContain('"api_token"');
  });

  it('gives a worker instance variables, its stores and policed outbound HTTP through the registry', async () => {
    const caps = await createAppCapabilities({
      app: app(upstream.port),
      variables: { flags: ['api_token=s3cret'] },
      keyValue: { seeds: ['seeded=planted'] },
    });
    caps.setSelfOrigin(upstream.origin);
    expect(new InterfaceSet([...WASI_INTERFACES, ...caps.interfaces]).unsupported(['fermyon:spin/variables@2.0.0', 'fermyon:spin/key-value@2.0.0', 'fermyon:spin/http'])).toEqual([]);
    const init = caps.workerInit();
    const endpoint = createBridgeServer(caps.handlers).connect();
    const worker = startTsWorker('./test-wiring-worker.ts', { init, endpoint, upstream: upstream.origin, denied: denied.origin }, [endpoint.port]);
    const before = denied.seen.length;
    try {
      const results = await firstMessage<Record<string, unknown>>(worker);
      expect(results).toEqual({
        greeting: 'hello world',
        missing: { err: { tag: 'undefined', val: 'no variable for "missing"' } },
        all: [
          ['greeting', 'hello world'],
          ['token', 's3cret'],
        ],
        seeded: 'planted',
        otherStore: { err: { tag: 'access-denied' } },
        wasiBucket: 'object',
        allowed: { status: 200, body: 'upstream /hi' },
        denied: { tag: 'HTTP-request-denied' },
        spinHttp: { status: 200, body: 'upstream /self' },
      });
      expect(denied.seen.length).toBe(before);
    } finally {
      await worker.terminate();
      await caps.close();
    }
  });

  it('applies the runtime config: its stores, block_networks and a bad entry stopping the start', async () => {
    const baseDir = await mkdtemp(join(tmpdir(), 'spinel-rc-'));
    try {
      const base = app(upstream.port);
      const component = base.components[0];
      if (component?.metadata !== undefined) component.metadata.key_value_stores = ['default', 'cache'];
      const caps = await createAppCapabilities({
        app: base,
        variables: { flags: ['api_token=x'] },
        runtimeConfig: parseRuntimeConfig('[key_value_store.cache]\ntype = "spin"\npath = "cache.db"\n\n[outbound_networking]\nblock_networks = ["private"]\n', {
          cwd: baseDir,
          file: join(baseDir, 'runtime-config.toml'),
        }),
      });
      try {
        expect(caps.keyValue.workerConfig.sqlite).toContainEqual(['cache', join(baseDir, 'cache.db')]);
        let code: unknown;
        try {
          await caps.outbound.send({ componentId: 'web', method: 'GET', headers: [], scheme: 'http', authority: `127.0.0.1:${upstream.port}`, pathWithQuery: '/' });
        } catch (err) {
          code = (err as { errorCode: unknown }).errorCode;
        }
        expect(code).toEqual({ tag: 'destination-IP-prohibited' });
      } finally {
        await caps.close();
      }
      // A bad entry never gets this far: the reader refuses it, naming its line.
      expect(() => parseRuntimeConfig('[outbound_networking]\nblock_networks = ["not-a-network"]\n', { cwd: baseDir })).toThrow(/:2:19: `outbound_networking.block_networks\[0\]`: "not-a-network" is not a network/);
    } finally {
      await rm(baseDir, { recursive: true, force: true });
    }
  });
});
