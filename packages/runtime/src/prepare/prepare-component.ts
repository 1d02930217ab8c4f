import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Cache } from '@spinel/cache';
import type { LockedApp, LockedComponent } from '@spinel/manifest';
import { ComponentLoadError } from '../errors.js';
import { asyncImportsMessage } from './async-interfaces.js';
import { loadTranspiled, readSourceHashed, type Transpiled } from './component-source.js';
import { loadResettable, type ComponentResetInfo } from './resettable-cache.js';
import type { Mount } from '../guest/wasi/filesystem.js';
import type { InterfaceSet } from './interface-set.js';
import { readComposedSource } from './compose/composed-source.js';
import { capModuleMemory, detectWasmKind } from './wasm-binary.js';
import { unsupportedImportsMessage } from './unsupported-imports-message.js';

/** How a prepared component is run. */
export type ComponentKind = 'http' | 'wagi';

/** A component ready to be instantiated in any worker. */
export interface PreparedComponent {
  id: string;
  kind: ComponentKind;
  /** file: URL of jco's glue module (http components). */
  glueUrl: string | undefined;
  /** Interfaces the component imports, as named in its binary. */
  imports: string[];
  /** Core modules by the file name the glue asks for (a WAGI component has one, under "module"). */
  modules: Record<string, WebAssembly.Module>;
  env: Array<[string, string]>;
  mounts: Mount[];
  /** How the instances of an http component can be reset between requests (see guest/component-instances.ts). */
  reset?: ComponentResetInfo | undefined;
}

const PAGE = 65_536;

/** The kind each component is used as, from the app's HTTP triggers (WAGI when its executor says so). */
export function componentKinds(app: LockedApp): Map<string, ComponentKind> {
  const kinds = new Map<string, ComponentKind>();
  for (const trigger of app.triggers) {
    const config = trigger.trigger_config;
    if (config === null || typeof config !== 'object' || Array.isArray(config)) continue;
    const component = config['component'];
    if (typeof component !== 'string') continue;
    const executor = config['executor'];
    const isWagi = executor !== null && typeof executor === 'object' && !Array.isArray(executor) && executor['type'] === 'wagi';
    kinds.set(component, isWagi ? 'wagi' : 'http');
  }
  return kinds;
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

const HANDLER = /^wasi:http\/incoming-handler@0\.2\.\d+$/;

async function compileCapped(bytes: Uint8Array, id: string, maxInstanceMemory: number | undefined): Promise<WebAssembly.Module> {
  let code = bytes;
  if (maxInstanceMemory !== undefined) {
    const maxPages = Math.max(1, Math.floor(maxInstanceMemory / PAGE));
    const capped = capModuleMemory(bytes, maxPages);
    if (capped.maxInitialPages > maxPages) {
      throw new ComponentLoadError('RUNTIME_MEMORY_LIMIT', `Component "${id}" needs ${capped.maxInitialPages * PAGE} bytes of memory to start, more than the instance memory limit of ${maxInstanceMemory} bytes. Raise --max-instance-memory.`, { componentId: id });
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
  kind: ComponentKind;
  env: Record<string, string>;
  maxInstanceMemory?: number | undefined;
  /** The interfaces the executor serves; other imports are refused. */
  interfaces: InterfaceSet;
  /** Largest component source read. @default 536870912 (512 MiB) */
  maxSourceBytes?: number | undefined;
  /** Guests may write to their `files` mounts (transient copies made by the caller). @default false */
  writableMounts?: boolean | undefined;
}

/**
 * Loads one locked component: recognises it by header, transpiles components (cached), refuses
 * imports the host does not provide, and compiles the core modules once for every worker. Only
 * bytes checked against their digest run: the source (when the app or the cache names one) and
 * the transpiled output (against the cache's record of it).
 * @throws ComponentLoadError (RUNTIME_INVALID_WASM, RUNTIME_UNSUPPORTED_IMPORTS, RUNTIME_NOT_A_HANDLER, RUNTIME_COMPONENT_SOURCE, RUNTIME_COMPONENT_INTEGRITY, RUNTIME_MEMORY_LIMIT)
 */
export async function prepareComponent(component: LockedComponent, options: PrepareOptions): Promise<PreparedComponent> {
  const { id } = component;
  const read = { cache: options.cache, maxSourceBytes: options.maxSourceBytes };
  const { bytes, sha256 } = await readComposedSource(component, (c) => readSourceHashed(c, read), read);
  const binaryKind = detectWasmKind(bytes);
  if (binaryKind === undefined) {
    throw new ComponentLoadError('RUNTIME_INVALID_WASM', `Component "${id}" is not a WebAssembly module or component (bad header).`, { componentId: id });
  }
  const env = Object.entries({ ...(component.env ?? {}), ...options.env });
  const mounts = await directoryMounts(component, options.writableMounts === true);
  if (options.kind === 'wagi') {
    if (binaryKind !== 'module') {
      throw new ComponentLoadError('RUNTIME_NOT_A_HANDLER', `Component "${id}" uses the WAGI executor but is a component; WAGI runs core modules that export _start.`, { componentId: id });
    }
    const module = await compileCapped(bytes, id, options.maxInstanceMemory);
    const imports = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
    return { id, kind: 'wagi', glueUrl: undefined, imports, modules: { module }, env, mounts };
  }
  if (binaryKind !== 'component') {
    throw new ComponentLoadError('RUNTIME_NOT_A_HANDLER', `Component "${id}" is a core module, not a component. Expected component to export one of "wasi:http/incoming-handler@0.2.*" (or set executor = { type = "wagi" } for a WASI command).`, { componentId: id });
  }
  let transpiled: Transpiled;
  try {
    transpiled = await loadTranspiled(bytes, options.cache, sha256);
  } catch (cause) {
    if (cause instanceof ComponentLoadError) throw cause;
    throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" could not be prepared by jco's transpiler: ${(cause as Error).message}`, { cause, componentId: id });
  }
  const { meta } = transpiled;
  const handlers = meta.exports.map(([name]) => name).filter((name) => HANDLER.test(name));
  if (handlers.length === 0) {
    const exported = meta.exports.map(([name]) => name).join(', ') || 'nothing';
    throw new ComponentLoadError('RUNTIME_NOT_A_HANDLER', `Expected component "${id}" to export one of "wasi:http/incoming-handler@0.2.*" but it exported none of those (it exports: ${exported}).`, { componentId: id });
  }
  const missing = options.interfaces.unsupported(versionedNames(bytes, meta.imports));
  const asyncOnly = asyncImportsMessage(id, missing);
  if (asyncOnly !== undefined) throw new ComponentLoadError('RUNTIME_UNSUPPORTED_IMPORTS', asyncOnly, { componentId: id });
  if (missing.length > 0) {
    throw new ComponentLoadError('RUNTIME_UNSUPPORTED_IMPORTS', unsupportedImportsMessage(id, missing), { componentId: id });
  }
  // Resettable modules and glue whose handle tables the worker can empty (both made once, cached).
  let reset: ComponentResetInfo | undefined;
  try {
    ({ transpiled, reset } = await loadResettable(transpiled, options.cache));
  } catch (cause) {
    if (cause instanceof ComponentLoadError) throw cause;
    throw new ComponentLoadError('RUNTIME_PREPARE_FAILED', `Component "${id}" could not be prepared for resets between requests: ${(cause as Error).message}`, { cause, componentId: id });
  }
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [name, code] of transpiled.modules) modules[name] = await compileCapped(code, id, options.maxInstanceMemory);
  return { id, kind: 'http', glueUrl: transpiled.glueUrl, imports: meta.imports, modules, env, mounts, reset };
}

