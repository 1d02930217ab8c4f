/**
 * Where prepare reads bytes from: a component's source, and jco's transpiled output in the cache
 * (transpiled once per component digest and jco version). Every read of bytes that will run goes
 * through this file.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import type { Cache } from '@spinel/cache';
import type { LockedComponent } from '@spinel/manifest';
import { ComponentLoadError } from '../errors.js';

const debug = debuglog('spinel:runtime');

/** What jco's transpiler reports about a component. */
export interface TranspileMeta {
  imports: string[];
  exports: Array<[string, string]>;
}

/** A transpiled component read back from the cache. */
export interface Transpiled {
  /** file: URL of jco's glue module. */
  glueUrl: string;
  meta: TranspileMeta;
  /** Core module bytes by the file name the glue asks for, in name order. */
  modules: Array<[name: string, bytes: Uint8Array]>;
}

let jcoVersionMemo: string | undefined;
/** The installed jco version; part of the derived-cache key so an upgrade transpiles again. */
export async function jcoVersion(): Promise<string> {
  if (jcoVersionMemo === undefined) {
    const require = createRequire(import.meta.url);
    const apiPath = require.resolve('@bytecodealliance/jco');
    // dist/api.js → package root
    const pkg = JSON.parse(await readFile(join(apiPath, '..', '..', 'package.json'), 'utf8')) as { version: string };
    jcoVersionMemo = pkg.version;
  }
  return jcoVersionMemo;
}

/** Reads a locked component's Wasm (file: URL or inline). */
export async function readComponentSource(component: LockedComponent): Promise<Uint8Array> {
  const { source } = component;
  if (source.inline !== undefined) return source.inline;
  if (source.source !== undefined && source.source.startsWith('file:')) {
    try {
      return new Uint8Array(await readFile(fileURLToPath(source.source)));
    } catch (cause) {
      throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `Cannot read the Wasm of component "${component.id}" from ${source.source}. Check that the file exists (build the app first).`, { cause, componentId: component.id });
    }
  }
  throw new ComponentLoadError('RUNTIME_COMPONENT_SOURCE', `Component "${component.id}" has no local source (${source.source ?? 'none'}). Pull or lock the app so its Wasm is on disk.`, { componentId: component.id });
}

async function transpileToDir(bytes: Uint8Array, dir: string): Promise<void> {
  const { transpile } = await import('@bytecodealliance/jco');
  const out = await transpile(bytes, {
    name: 'component',
    instantiation: 'sync',
    noTypescript: true,
    quiet: true,
    base64Cutoff: 0,
  });
  for (const [name, data] of Object.entries(out.files)) {
    if (name.includes('/')) continue;
    // .mjs so Node loads the glue as ESM wherever the cache lives.
    const target = name === 'component.js' ? 'component.mjs' : name;
    await writeFile(join(dir, target), data);
  }
  const meta: TranspileMeta = { imports: out.imports, exports: out.exports };
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta));
}

/** Transpiles a component once per (digest, jco version) and reads the output back; later starts only read. */
export async function loadTranspiled(bytes: Uint8Array, cache: Cache): Promise<Transpiled> {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const key = `jco-transpile-${await jcoVersion()}-${digest}`;
  let dir = await cache.getDerived(key);
  if (dir === undefined) {
    debug('transpiling component %s', digest);
    dir = (await cache.putDerived(key, (tmp) => transpileToDir(bytes, tmp))).path;
  }
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as TranspileMeta;
  const modules: Transpiled['modules'] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.wasm')).sort()) {
    modules.push([name, new Uint8Array(await readFile(join(dir, name)))]);
  }
  return { glueUrl: pathToFileURL(join(dir, 'component.mjs')).href, meta, modules };
}
