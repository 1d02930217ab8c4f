// HTTP middleware cannot run here (WASI 0.3); an app declaring some must not start without it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { writeDependencyGuest } from '@spinel/test-utils';
import { createExecutor } from '../../pool/create-executor.js';
import type { DependencyError } from '../../errors.js';
import { testApp } from '../../../test/test-app.js';

let dir: string;
let app: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-middleware-'));
  app = await writeDependencyGuest('app-inline', dir);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function startFailure(locked: LockedApp): Promise<DependencyError> {
  const executor = await createExecutor({ app: locked, cache: openCache({ root: join(dir, 'cache') }), workers: 1, logDir: null }).catch((e: unknown) => e as DependencyError);
  if (!(executor instanceof Error)) {
    await executor.close();
    throw new Error('expected the start to fail');
  }
  return executor;
}

describe('HTTP middleware', { timeout: 120_000 }, () => {
  const mw = (): { source: { content_type: string; source: string }; export: null } => ({ source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'mw.wasm')).href }, export: null });

  it('refuses a trigger with middleware, naming trigger, component, interface and source', async () => {
    const locked = testApp([{ id: 'web', path: app }]);
    (locked.triggers[0] as { trigger_dependencies?: unknown }).trigger_dependencies = { middleware: [mw()] };
    const err = await startFailure(locked);
    expect(err.code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    expect(err.componentId).toBe('web');
    expect(err.message).toContain("component 'web'");
    expect(err.message).toContain('wasi:http/handler@0.3.0');
    expect(err.message).toContain(join(dir, 'mw.wasm'));
  });

  it('refuses middleware locked on the component (Spin\'s lock) and trigger dependencies other than middleware', async () => {
    const onComponent = testApp([{ id: 'web', path: app }]);
    (onComponent.components[0] as { trigger_dependencies?: unknown }).trigger_dependencies = { middleware: [mw()] };
    expect((await startFailure(onComponent)).code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    const other = testApp([{ id: 'web', path: app }]);
    (other.triggers[0] as { trigger_dependencies?: unknown }).trigger_dependencies = { auth: [mw()] };
    const err = await startFailure(other);
    expect(err.message).toContain("only allowed trigger dependency is `middleware`");
  });

  it('refuses a component that requires the middleware host feature (its chain composed at push, as Spin pushes it)', async () => {
    const locked = testApp([{ id: 'web', path: app }]);
    (locked.components[0] as { host_requirements?: unknown }).host_requirements = { middleware: 'required' };
    const err = await startFailure(locked);
    expect(err.code).toBe('RUNTIME_MIDDLEWARE_INVALID');
    expect(err.message).toContain("Component 'web' requires HTTP middleware (host requirement `middleware`");
    expect(err.message).toContain('wasi:http/handler@0.3.0');
    // Optional is no requirement.
    (locked.components[0] as { host_requirements?: unknown }).host_requirements = { middleware: 'optional' };
    const executor = await createExecutor({ app: locked, cache: openCache({ root: join(dir, 'cache') }), workers: 1, logDir: null });
    await executor.close();
  }, 60_000);

  it('serves a trigger whose middleware list is empty', async () => {
    const locked = testApp([{ id: 'web', path: app }]);
    (locked.triggers[0] as { trigger_dependencies?: unknown }).trigger_dependencies = { middleware: [] };
    const executor = await createExecutor({ app: locked, cache: openCache({ root: join(dir, 'cache') }), workers: 1, logDir: null });
    await executor.close();
  }, 60_000);
});
