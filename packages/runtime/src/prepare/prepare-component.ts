import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type { Cache } from '@spinel/cache';
import type { LockedApp, LockedComponent } from '@spinel/manifest';
import { ComponentLoadError } from '../errors.js';
import { asyncImportsMessage } from './async-interfaces.js';
import { SPIN1_IMPORT_MODULES } from '../guest/spin1/old-abi-imports.js';
import { unlinkableSpin1Imports } from '../guest/spin1/spin1-module.js';
import { wasiRcImports, type WasiRc } from '../guest/wasi/rc-versions.js';
import { componentNames, type ComponentNames } from './component-names.js';
import { jcoVersion, loadTranspiled, readSourceHashed, transpileCacheKey, type Transpiled } from './component-source.js';
import { componentizeModule, embedsComponentType } from './componentize-module.js';
import {
  HandlerSelectionError,
  NO_HTTP_HANDLER_MESSAGE,
  classifyCoreModule,
  selectHttpHandler,
  selectRedisHandler,
  type HttpHandlerType,
  type Spin1HttpEntry,
} from './handler-type.js';
import { loadResettable, readResettable, type ComponentResetInfo, type ResettableForm } from './resettable-cache.js';
import type { Mount } from '../guest/wasi/filesystem.js';
import type { InterfaceSet } from './interface-set.js';
import { readComposedSource } from './compose/composed-source.js';
import { glueScript, type GlueScript } from './glue-script.js';
import { capModuleMemory, detectWasmKind } from './wasm-binary.js';
import { unsupportedImportsMessage } from './unsupported-imports-message.js';

const debug = debuglog('spinel:runtime');

/**
 * How a prepared component is run: `http` is a component (its handlers below), `spin1` a Spin
 * 0.x/1.x core module run on the old wit-bindgen ABI, `wagi` a WASI command run as CGI.
 */
export type ComponentKind = 'http' | 'spin1' | 'wagi';

/** A component ready to be instantiated in any worker. */
export interface PreparedComponent {
  id: string;
  kind: ComponentKind;
  /** file: URL of jco's glue module (components). */
  glueUrl: string | undefined;
  /** The same glue as a script with its V8 code cache, when its shape allows (workers compile it instead of importing `glueUrl`). */
  glueScript?: GlueScript | undefined;
  /** Interfaces the component imports, as named in its binary (import module names for core modules). */
  imports: string[];
  /** Core modules by the file name the glue asks for (a core module has one, under "module"). */
  modules: Record<string, WebAssembly.Module>;
  env: Array<[string, string]>;
  mounts: Mount[];
  /** How the instances of an http component can be reset between requests (see guest/component-instances.ts). */
  reset?: ComponentResetInfo | undefined;
  /** How a component answers HTTP, when an HTTP trigger uses it. */
  http?: HttpHandlerType;
  /** Whether it handles Redis messages (a Redis trigger uses it). */
  redis?: boolean;
  /** A Spin 1 module's HTTP entry point, when an HTTP trigger uses it. */
  spin1Http?: Spin1HttpEntry;
  /** Interfaces imported at a WASI 0.2 release candidate (key → rc), whose shapes the worker adapts. */
  wasiRc?: Array<[string, WasiRc]>;
  /** Bytes each of its memories may grow to (the executor's `maxInstanceMemory`), when capped. */
  memoryLimit?: number | undefined;
}

const PAGE = 65_536;

/** How the app's triggers use a component: as an HTTP handler (Spin's executor or WAGI) and/or a Redis handler. */
export interface ComponentUse {
  http: 'spin' | 'wagi' | undefined;
  redis: boolean;
}

/** How each component is used, from the app's HTTP and Redis triggers (WAGI when an HTTP trigger's executor says so). */
export function componentUses(app: LockedApp): Map<string, ComponentUse> {
  const uses = new Map<string, ComponentUse>();
  for (const trigger of app.triggers) {
    const config = trigger.trigger_config;
    if (config === null || typeof config !== 'object' || Array.isArray(config)) continue;
    const component = config['component'];
    if (typeof component !== 'string') continue;
    const use = uses.get(component) ?? { http: undefined, redis: false };
    if (trigger.trigger_type === 'redis') use.redis = true;
    else if (trigger.trigger_type === 'http') {
      const executor = config['executor'];
      const isWagi = executor !== null && typeof executor === 'object' && !Array.isArray(executor) && executor['type'] === 'wagi';
      use.http = isWagi ? 'wagi' : 'spin';
    }
    uses.set(component, use);
  }
  return uses;
}

/**
 * jco reports imports without their versions; the component's own type section names them in
 * full (`wasi:http/types@0.2.3`), which is what an error should show and what 0.2.x matching needs.
 */
export function versionedNames(bytes: Uint8Array, names: readonly string[]): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return names.map((name) => {
    if (name.includes('@')) return name;
    const at = text.indexOf(`${name}@`);
    if (at === -1) return name;
    const version = /^[0-9A-Za-z.+-]+/.exec(text.slice(at + name.length + 1, at + name.length + 64));
    return version === null ? name : `${name}@${version[0]}`;
  });
}

async function compileCapped(bytes: Uint8Array, id: string, maxInstanceMemory: number | undefined): Promise<WebAssembly.Module> {
  let code = bytes;
  if (maxInstanceMemory !== undefined) {
    const maxPages = Math.max(1, Math.floor(maxInstanceMemory / PAGE));
    const capped = capModuleMemory(bytes, maxPages);
    if (capped.maxInitialPages > maxPages) {
      throw new ComponentLoadError('RUNTIME_MEMORY_LIMIT', `Component "${id}" needs ${capped.maxInitialPages * PAGE} bytes of memory to start, more than the instance memory limit of ${maxInstanceMemory} bytes. Raise it with --max-instance-memory or max_instance_memory in the runtime config.`, { componentId: id });
    }
    code = capped.bytes;
  }
  try {
    return await WebAssembly.compile(code as Uint8Array<ArrayBuffer>);
  } catch (cause) {
    throw new ComponentLoadError('RUNTIME_INVALID_WASM', `Component "${id}" is not valid WebAssembly: ${(cause as Error).message}`, { cause, componentId: id });
  }
}

/** The component's `files` as directory mounts (the loaders lock files as directories), read-only unless `writable`. */
async function directoryMounts(component: LockedComponent, writable: boolean): Promise<Mount[]> {
  const mounts: Mount[] = [];
  for (const file of component.files ?? []) {
    const source = file.source;
    const hostPath = source !== undefined && source.startsWith('file:') ? fileURLToPath(source) : undefined;
    const isDir = hostPath === undefined ? false : await stat(hostPath).then((s) => s.isDirectory(), () => false);
    if (hostPath === undefined || !isDir) {
      throw new ComponentLoadError('RUNTIME_FILES_MOUNT', `Component "${component.id}" mounts ${source ?? 'inline content'} at ${file.path}, which is not a local directory. Lock the app again so its files are materialised as a directory.`, { componentId: component.id });
    }
    mounts.push({ guestPath: file.path, hostPath, ...(writable ? { writable } : {}) });
  }
  return mounts;
}

/** Options of {@link prepareComponent}. */
export interface PrepareOptions {
  cache: Cache;
  /** How the app's triggers use the component. @default from `kind`, else an HTTP handler on Spin's executor */
  use?: ComponentUse;
  /** Shorthand for `use` with one HTTP trigger: `wagi` for the WAGI executor. */
  kind?: 'http' | 'wagi';
  env: Record<string, string>;
  maxInstanceMemory?: number | undefined;
  /** The interfaces the executor serves; other imports are refused. */
  interfaces: InterfaceSet;
  /** Largest component source read. @default 536870912 (512 MiB) */
  maxSourceBytes?: number | undefined;
  /** Guests may write to their `files` mounts (transient copies made by the caller). @default false */
  writableMounts?: boolean | undefined;
}

/** Spin's hint beside a handler error (WAGI modules are commands, not handlers). */
const WAGI_HINT = 'A WASI command module (one that exports `_start`) runs with `executor = { type = "wagi" }` on its HTTP trigger.';

/** Wraps a handler-selection failure in the loader's coded error. */
function selectionError(id: string, err: unknown): ComponentLoadError {
  if (!(err instanceof HandlerSelectionError)) throw err;
  const code = err.reason === 'multiple' ? 'RUNTIME_MULTIPLE_HANDLERS' : err.reason === 'async' ? 'RUNTIME_ASYNC_UNSUPPORTED' : 'RUNTIME_NOT_A_HANDLER';
  return new ComponentLoadError(code, `Component "${id}": ${err.message}`, { cause: err, componentId: id });
}

/**
 * A module that embeds its component type, as a component: converted once per (module, jco
 * version) and kept in the derived cache, read back through the cache's verification record (an
 * entry changed on disk is removed and converted again).
 * @returns the component's bytes and their sha256 (hex)
 */
async function componentizedCached(bytes: Uint8Array, id: string, cache: Cache): Promise<{ bytes: Uint8Array; sha256: string }> {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const key = `componentize-${await jcoVersion()}-${digest}`;
  const keep = (path: string): boolean => path === 'component.wasm';
  let content: Awaited<ReturnType<Cache['readDerived']>>;
  try {
    content = await cache.readDerived(key, { keep });
    if (content === undefined) {
      debug('componentizing module %s of %s', digest, id);
      await cache.putDerived(key, async (tmp) => writeFile(join(tmp, 'component.wasm'), await componentizeModule(bytes)));
      content = await cache.readDerived(key, { keep });
    }
  } catch (cause) {
    throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" is a core module with an embedded component type that could not be made into a component: ${(cause as Error).message}`, { cause, componentId: id });
  }
  const wasm = content?.files.get('component.wasm');
  if (wasm === undefined) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The component made from module ${digest} in the cache (${cache.derivedPath(key)}) changed while it was read back; it was not run. Check what else writes to the cache directory and start again.`, { componentId: id });
  }
  const out = new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength);
  return { bytes: out, sha256: createHash('sha256').update(out).digest('hex') };
}

/** Whether a Spin 1 module's import module name is one the old-ABI host links. */
const isSpin1Module = (name: string): boolean => (SPIN1_IMPORT_MODULES as readonly string[]).includes(name);

/**
 * Loads one locked component: recognises it by header and shape, chooses its handlers as Spin
 * does, transpiles components (cached), refuses imports the host does not provide, and compiles the
 * core modules once for every worker. Core modules that embed their component type are made into
 * components first; Spin 1 modules (the old wit-bindgen ABI) are kept as they are. Only bytes
 * checked against their digest run: the source (when the app or the cache names one) and the
 * derived forms (against the cache's record of them).
 * @throws ComponentLoadError (RUNTIME_INVALID_WASM, RUNTIME_UNSUPPORTED_IMPORTS, RUNTIME_NOT_A_HANDLER, RUNTIME_MULTIPLE_HANDLERS, RUNTIME_ASYNC_UNSUPPORTED, RUNTIME_COMPONENT_SOURCE, RUNTIME_COMPONENT_INTEGRITY, RUNTIME_MEMORY_LIMIT, RUNTIME_PREPARE_FAILED)
 */
export async function prepareComponent(component: LockedComponent, options: PrepareOptions): Promise<PreparedComponent> {
  const { id } = component;
  const use = options.use ?? { http: options.kind === 'wagi' ? 'wagi' : 'spin', redis: false };
  const read = { cache: options.cache, maxSourceBytes: options.maxSourceBytes };
  let { bytes, sha256 } = await readComposedSource(component, (c) => readSourceHashed(c, read), read);
  let binaryKind = detectWasmKind(bytes);
  if (binaryKind === undefined) {
    throw new ComponentLoadError('RUNTIME_INVALID_WASM', `Component "${id}" is not a WebAssembly module or component (bad header).`, { componentId: id });
  }
  const env = Object.entries({ ...(component.env ?? {}), ...options.env });
  const mounts = await directoryMounts(component, options.writableMounts === true);
  if (use.http === 'wagi') {
    if (binaryKind !== 'module') {
      throw new ComponentLoadError('RUNTIME_NOT_A_HANDLER', `Component "${id}" uses the WAGI executor but is a component; WAGI runs core modules that export _start.`, { componentId: id });
    }
    const module = await compileCapped(bytes, id, options.maxInstanceMemory);
    const imports = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
    return { id, kind: 'wagi', glueUrl: undefined, imports, modules: { module }, env, mounts, memoryLimit: options.maxInstanceMemory };
  }
  if (binaryKind === 'module' && embedsComponentType(bytes)) {
    ({ bytes, sha256 } = await componentizedCached(bytes, id, options.cache));
    binaryKind = 'component';
  }
  if (binaryKind === 'module') return prepareSpin1Module(id, bytes, use, env, mounts, options.maxInstanceMemory);

  let names: ComponentNames;
  try {
    names = componentNames(bytes);
  } catch (cause) {
    throw new ComponentLoadError('RUNTIME_INVALID_WASM', `Component "${id}" is not a valid component: ${(cause as Error).message}`, { cause, componentId: id });
  }
  const asyncMessage = asyncImportsMessage(id, names.imports);
  if (asyncMessage !== undefined) throw new ComponentLoadError('RUNTIME_ASYNC_UNSUPPORTED', asyncMessage, { componentId: id });
  let http: HttpHandlerType | undefined;
  try {
    if (use.http === 'spin') http = selectHttpHandler(names.exports);
    if (use.redis) selectRedisHandler(names.exports);
  } catch (err) {
    throw selectionError(id, err);
  }
  const rcs = wasiRcImports(names.imports);
  const missing = options.interfaces.unsupported(names.imports);
  if (missing.length > 0) {
    throw new ComponentLoadError('RUNTIME_UNSUPPORTED_IMPORTS', unsupportedImportsMessage(id, missing), { componentId: id });
  }
  // A warm cache holds the resettable form, which is all that runs: it is read (and verified) once,
  // and the transpile output it was made from is read only to make it again.
  let runnable: ResettableForm;
  let reset: ComponentResetInfo;
  let made: Awaited<ReturnType<typeof readResettable>>;
  try {
    made = await readResettable(await transpileCacheKey(sha256), options.cache);
  } catch (cause) {
    if (cause instanceof ComponentLoadError) throw cause;
    throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" could not be prepared for resets between requests: ${(cause as Error).message}`, { cause, componentId: id });
  }
  if (made !== undefined) ({ transpiled: runnable, reset } = made);
  else {
    let transpiled: Transpiled;
    try {
      transpiled = await loadTranspiled(bytes, options.cache, sha256);
    } catch (cause) {
      if (cause instanceof ComponentLoadError) throw cause;
      throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" could not be prepared by jco's transpiler: ${(cause as Error).message}`, { cause, componentId: id });
    }
    // Resettable modules and glue whose handle tables the worker can empty (both made once, cached).
    try {
      ({ transpiled: runnable, reset } = await loadResettable(transpiled, options.cache));
    } catch (cause) {
      if (cause instanceof ComponentLoadError) throw cause;
      throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" could not be prepared for resets between requests: ${(cause as Error).message}`, { cause, componentId: id });
    }
  }
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [name, code] of runnable.modules) modules[name] = await compileCapped(code, id, options.maxInstanceMemory);
  const script = await glueScript(runnable.glue, options.cache);
  return {
    id,
    kind: 'http',
    glueUrl: runnable.glueUrl,
    ...(script === undefined ? {} : { glueScript: script }),
    imports: names.imports,
    modules,
    env,
    mounts,
    reset,
    ...(http === undefined ? {} : { http }),
    ...(use.redis ? { redis: true } : {}),
    ...(rcs.size === 0 ? {} : { wasiRc: [...rcs] }),
    memoryLimit: options.maxInstanceMemory,
  };
}

/** A core module without an embedded component type: a Spin 0.x/1.x module, run on the old ABI. */
async function prepareSpin1Module(
  id: string,
  bytes: Uint8Array,
  use: ComponentUse,
  env: Array<[string, string]>,
  mounts: Array<{ guestPath: string; hostPath: string }>,
  maxInstanceMemory: number | undefined,
): Promise<PreparedComponent> {
  const module = await compileCapped(bytes, id, maxInstanceMemory);
  const shape = classifyCoreModule(
    WebAssembly.Module.exports(module).map((e) => e.name),
    WebAssembly.Module.imports(module).map((i) => i.module),
  );
  if (shape.type !== 'spin1' || (use.http === 'spin' && shape.http === undefined) || (use.redis && !shape.redis)) {
    const wanted = use.redis && use.http === undefined ? '`handle-redis-message` (a Spin 1 Redis module)' : '`handle-http-request` (a Spin 1 HTTP module)';
    const what = shape.type === 'command' ? `a WASI command, not a handler. ${WAGI_HINT}` : `a core module that exports no ${wanted} and embeds no component type.`;
    throw new ComponentLoadError('RUNTIME_NOT_A_HANDLER', `Component "${id}" is ${what} ${NO_HTTP_HANDLER_MESSAGE}`, { componentId: id });
  }
  const unlinkable = unlinkableSpin1Imports(module, isSpin1Module);
  if (unlinkable.length > 0) {
    throw new ComponentLoadError('RUNTIME_UNSUPPORTED_IMPORTS', `Component "${id}" (a Spin 1 module) imports what this host does not provide: ${unlinkable.join(', ')}. Spin 1 modules may import wasi_snapshot_preview1, wasi_experimental_http and ${SPIN1_IMPORT_MODULES.join(', ')}.`, { componentId: id });
  }
  return {
    id,
    kind: 'spin1',
    glueUrl: undefined,
    imports: shape.imports,
    modules: { module },
    env,
    mounts,
    ...(use.http === 'spin' && shape.http !== undefined ? { spin1Http: shape.http } : {}),
    ...(use.redis ? { redis: true } : {}),
    memoryLimit: maxInstanceMemory,
  };
}
