// Component dependencies end to end: WAT components composed at load, prepared by jco, served
// through the HTTP trigger with the app's capabilities (variables, files) as `spinel up` wires them.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedApp, LockedComponentDependency } from '@spinel/manifest';
import { dependencyGuest, writeDependencyGuest, type DependencyGuest } from '@spinel/test-utils';
import { createExecutor } from '../../pool/create-executor.js';
import type { DependencyError } from '../../errors.js';
import { runApp } from '../../run-app.js';
import { testApp } from '../../../test/test-app.js';
import { composeDependencies } from './compose-dependencies.js';

let dir: string;
let cache: Cache;
const paths = new Map<DependencyGuest, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-deps-'));
  cache = openCache({ root: join(dir, 'cache') });
  for (const g of ['app', 'app-two', 'greeter', 'greeter-both', 'renamed', 'reader', 'cyclic'] as const) paths.set(g, await writeDependencyGuest(g, dir));
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'assets', 'greeting.txt'), 'from-file');
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

function dep(guest: DependencyGuest, extra: Partial<LockedComponentDependency> = {}): LockedComponentDependency {
  return { source: { content_type: 'application/wasm', source: pathToFileURL(paths.get(guest) as string).href }, export: null, ...extra };
}

function appWith(root: DependencyGuest, dependencies: Record<string, LockedComponentDependency>): LockedApp {
  const app = testApp([
    {
      id: 'web',
      path: paths.get(root) as string,
      dependencies,
      config: { greeting: 'from-variable' },
      files: [{ source: pathToFileURL(join(dir, 'assets')).href, path: '/' }],
    },
  ]);
  (app.triggers[0] as { trigger_config: unknown }).trigger_config = { component: 'web', route: '/...' };
  return app;
}

async function answer(app: LockedApp): Promise<{ status: number; body: string }> {
  const running = await runApp({ app, cache, listen: '127.0.0.1:0', workers: 1, variables: { flags: [], env: {}, cwd: dir }, stateDir: join(dir, 'state') });
  try {
    const res = await fetch(`${running.baseUrl}/`);
    return { status: res.status, body: await res.text() };
  } finally {
    await running.close();
  }
}

async function startFailure(app: LockedApp): Promise<DependencyError> {
  try {
    await createExecutor({ app, cache, workers: 1, logDir: null });
  } catch (err) {
    await Promise.resolve();
    return err as DependencyError;
  }
  throw new Error('expected the start to fail');
}

describe('component dependencies composed at load', { timeout: 240_000 }, () => {
  it('satisfies an interface import with a local dependency', async () => {
    expect(await answer(appWith('app', { 'spinel:greeting/greet': dep('greeter') }))).toEqual({ status: 200, body: 'hello, world' });
  });

  it('satisfies every import of a package with one whole-package dependency', async () => {
    expect(await answer(appWith('app-two', { 'spinel:greeting': dep('greeter-both') }))).toEqual({ status: 200, body: 'hello, world/HEY world' });
  });

  it('satisfies an import with a differently named export (`export`)', async () => {
    expect(await answer(appWith('app', { 'spinel:greeting/greet@0.1.0': dep('renamed', { export: 'spinel:other/hello@0.1.0' }) }))).toEqual({ status: 200, body: 'hi, world' });
  });

  it('lets a dependency read the component\'s variables and files only when it inherits them', async () => {
    expect(await answer(appWith('app', { 'spinel:greeting/greet': dep('reader', { inherit: 'All' }) }))).toEqual({ status: 200, body: 'from-variable|from-file' });
    expect(await answer(appWith('app', { 'spinel:greeting/greet': dep('reader') }))).toEqual({ status: 200, body: '-|-' });
    expect(await answer(appWith('app', { 'spinel:greeting/greet': dep('reader', { inherit: { Some: ['variables'] } }) }))).toEqual({ status: 200, body: 'from-variable|-' });
    expect(await answer(appWith('app', { 'spinel:greeting/greet': dep('reader', { inherit: { Some: ['files'] } }) }))).toEqual({ status: 200, body: '-|from-file' });
  });

  it('serves an app whose dependency is another of its components (`{ component = "<id>" }`), which no trigger uses', async () => {
    const app = appWith('app', { 'spinel:greeting/greet': dep('greeter') });
    app.components.push({ id: 'greeter', source: dep('greeter').source });
    expect(await answer(app)).toEqual({ status: 200, body: 'hello, world' });
  });

  it('stops the start when a dependency name matches no import', async () => {
    const err = await startFailure(appWith('app', { 'spinel:nothing/here': dep('greeter') }));
    expect(err.code).toBe('RUNTIME_DEPENDENCY_UNMATCHED');
    expect(err.message).toContain("dependency 'spinel:nothing/here' doesn't match any imports of component 'web'");
    expect(err.message).toContain('spinel:greeting/greet@0.1.0');
  });

  it('stops the start when the dependency lacks the export the import needs, naming component, import and source', async () => {
    const err = await startFailure(appWith('app', { 'spinel:greeting/greet': dep('renamed') }));
    expect(err.code).toBe('RUNTIME_DEPENDENCY_MISSING_EXPORT');
    expect(err.componentId).toBe('web');
    expect(err.importName).toBe('spinel:greeting/greet@0.1.0');
    expect(err.message).toContain("import 'spinel:greeting/greet@0.1.0' of component 'web'");
    expect(err.message).toContain(paths.get('renamed'));
    const renamedWrong = await startFailure(appWith('app', { 'spinel:greeting/greet': dep('renamed', { export: 'spinel:other/nope@0.1.0' }) }));
    expect(renamedWrong.code).toBe('RUNTIME_DEPENDENCY_MISSING_EXPORT');
    expect(renamedWrong.message).toContain("doesn't export 'spinel:other/nope@0.1.0'");
  });

  it('stops the start on a cycle: a dependency importing what the component exports', async () => {
    const err = await startFailure(appWith('app', { 'spinel:greeting/greet': dep('cyclic') }));
    expect(err.code).toBe('RUNTIME_DEPENDENCY_CYCLE');
    expect(err.importName).toBe('wasi:http/incoming-handler@0.2.3');
    expect(err.message).toContain(paths.get('cyclic'));
    expect(err.message).toContain("component 'web'");
  });

  it('stops the start when a dependency does not match its locked digest', async () => {
    const wrong = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    const d = dep('greeter');
    const err = await startFailure(appWith('app', { 'spinel:greeting/greet': { ...d, source: { ...d.source, digest: wrong } } }));
    expect(err.code).toBe('RUNTIME_DEPENDENCY_SOURCE');
    expect(err.dependency).toBe('spinel:greeting/greet');
    expect(err.message).toContain(wrong);
    expect(err.message).toContain(paths.get('greeter'));
    expect(err.message).toContain("component 'web'");
  });

  it('refuses two dependencies for one import', async () => {
    const err = await startFailure(appWith('app', { 'spinel:greeting/greet': dep('greeter'), 'spinel:greeting': dep('greeter-both') }));
    expect(err.code).toBe('RUNTIME_DEPENDENCY_CONFLICT');
    expect(err.message).toContain("import 'spinel:greeting/greet@0.1.0' satisfied by dependencies");
  });

  it('writes a component that wasm-tools decodes, importing only what the host must provide', async () => {
    const { componentWit } = await import('@bytecodealliance/jco');
    const composed = composeDependencies({
      componentId: 'web',
      bytes: await dependencyGuest('app'),
      dependencies: [{ name: 'spinel:greeting/greet', bytes: await dependencyGuest('reader'), source: 'reader.wasm' }],
    });
    const wit = await componentWit(composed);
    expect(wit).toContain('export wasi:http/incoming-handler@0.2.3;');
    expect(wit).not.toContain('spinel:greeting');
    // Denied: satisfied inside by the deny adapter, not imported.
    expect(wit).not.toContain('fermyon:spin/variables');
    expect(wit).not.toContain('wasi:filesystem/preopens');
    const inherited = composeDependencies({
      componentId: 'web',
      bytes: await dependencyGuest('app'),
      dependencies: [{ name: 'spinel:greeting/greet', bytes: await dependencyGuest('reader'), source: 'reader.wasm', inherit: 'All' }],
    });
    const witAll = await componentWit(inherited);
    expect(witAll).toContain('import fermyon:spin/variables@2.0.0;');
    expect(witAll).toContain('import wasi:filesystem/preopens@0.2.3;');
  });
});
