/**
 * The resettable form of a transpiled component, made once and kept in the cache beside the
 * transpile output: each core module rewritten by `makeResettable` (or copied when refused) and
 * the glue patched by `patchGlueState`, with a `reset.json` saying which is which.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import type { Cache } from '@spinel/cache';
import { ComponentLoadError } from '../errors.js';
import { glueDataUrl, type Transpiled } from './component-source.js';
import { GLUE_STATE_IMPORT, patchGlueState } from './glue-state-patch.js';
import { RESET_REWRITE_VERSION, makeResettable, type ResetLayout } from './resettable-module.js';

const debug = debuglog('spinel:runtime');

/** The glue file name in a transpile directory. */
const GLUE_FILE = 'component.mjs';
const PLAN_FILE = 'reset.json';

/**
 * How a component's instances can be reset: a layout for every core module the rewrite accepted,
 * the reason for every module it refused, and whether the glue exposes its handle tables.
 */
export interface ResetPlan {
  version: number;
  layouts: Record<string, ResetLayout>;
  refused: Record<string, string>;
  /** Patched glue: how many capture tables it registers; otherwise why it was left alone. */
  glue: { patched: true; importKey: string; captureTables: number; bookkeeping: string[] } | { patched: false; reason: string };
}

/** Whether every core module of the plan can be reset (a component is reset whole or not at all). */
export function planResetsWhole(plan: ResetPlan): boolean {
  return Object.keys(plan.refused).length === 0 && Object.keys(plan.layouts).length > 0;
}

/** What a worker needs to know to reset a component's instances (plain data: it crosses to workers). */
export interface ComponentResetInfo {
  /** A layout for every core module by file name; undefined unless every module can be reset. */
  layouts: Record<string, ResetLayout> | undefined;
  /** How many capture tables the patched glue registers; undefined when the glue is not patched. */
  glueCaptureTables: number | undefined;
  /** The bookkeeping the patched glue registers, by name; undefined when the glue is not patched. */
  glueBookkeeping?: string[] | undefined;
}

/** The worker's view of a plan. */
export function resetInfo(plan: ResetPlan): ComponentResetInfo {
  return {
    layouts: planResetsWhole(plan) ? plan.layouts : undefined,
    glueCaptureTables: plan.glue.patched ? plan.glue.captureTables : undefined,
    glueBookkeeping: plan.glue.patched ? plan.glue.bookkeeping : undefined,
  };
}

/** What a resettable form is made from: core modules by file name, the glue text, other files copied as they are. */
interface ResetSource {
  modules: ReadonlyArray<readonly [string, Uint8Array]>;
  glue: string | undefined;
  others: ReadonlyArray<readonly [string, Uint8Array]>;
}

async function build(from: ResetSource, out: string): Promise<void> {
  const plan: ResetPlan = { version: RESET_REWRITE_VERSION, layouts: {}, refused: {}, glue: { patched: false, reason: 'no glue' } };
  for (const [name, bytes] of [...from.modules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const result = makeResettable(bytes);
    if (result.ok) plan.layouts[name] = result.layout;
    else {
      plan.refused[name] = result.reason;
      debug('core module %s cannot be reset: %s', name, result.reason);
    }
    await writeFile(join(out, name), result.ok ? result.bytes : bytes);
  }
  if (from.glue !== undefined) {
    const patch = patchGlueState(from.glue);
    plan.glue = patch.ok ? { patched: true, importKey: GLUE_STATE_IMPORT, captureTables: patch.captureTables, bookkeeping: patch.bookkeeping } : { patched: false, reason: patch.reason };
    if (!patch.ok) debug('glue left unpatched: %s', patch.reason);
    await writeFile(join(out, GLUE_FILE), patch.ok ? patch.source : from.glue);
  }
  for (const [name, bytes] of from.others) await writeFile(join(out, name), bytes);
  await writeFile(join(out, PLAN_FILE), JSON.stringify(plan));
}

/** A transpile directory's files as a {@link ResetSource}. */
async function readTranspiledDir(dir: string): Promise<ResetSource> {
  const modules: Array<[string, Uint8Array]> = [];
  const others: Array<[string, Uint8Array]> = [];
  let glue: string | undefined;
  for (const name of (await readdir(dir)).sort()) {
    if (name === GLUE_FILE) glue = await readFile(join(dir, name), 'utf8');
    else (name.endsWith('.wasm') ? modules : others).push([name, new Uint8Array(await readFile(join(dir, name)))]);
  }
  return { modules, glue, others };
}

const keepReset = (path: string): boolean => !path.includes('/') && (path.endsWith('.wasm') || path === GLUE_FILE || path === PLAN_FILE);

/**
 * Makes (once per transpile key and rewrite version) and reads back the resettable form through
 * the cache's verification record, so a changed entry is made again and never run.
 */
/** The derived-cache key of a component's resettable form, by its transpile key. */
const resetKey = (transpileKey: string): string => `spinel-reset-${RESET_REWRITE_VERSION}-${transpileKey}`;

async function resettableVerified(from: () => Promise<ResetSource>, transpileKey: string, cache: Cache): Promise<{ dir: string; plan: ResetPlan; created: boolean; files: Map<string, Buffer> }> {
  const key = resetKey(transpileKey);
  let content = await cache.readDerived(key, { keep: keepReset });
  let created = false;
  if (content === undefined) {
    debug('making component %s resettable', transpileKey);
    ({ created } = await cache.putDerived(key, async (tmp) => build(await from(), tmp)));
    content = await cache.readDerived(key, { keep: keepReset });
  }
  const plan = content?.files.get(PLAN_FILE);
  if (content === undefined || plan === undefined) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The resettable form of component ${transpileKey} in the cache (${cache.derivedPath(key)}) changed while it was read back; it was not run. Check what else writes to the cache directory and start again.`);
  }
  return { dir: content.path, plan: JSON.parse(plan.toString('utf8')) as ResetPlan, created, files: content.files };
}

/**
 * The resettable form of the transpile output in `transpiledDir`, made once per `transpileKey`
 * (which names the component digest and jco version) and rewrite version, read back verified.
 * @returns the directory holding the rewritten modules and glue, the plan, and whether this call made them
 * @throws ComponentLoadError RUNTIME_COMPONENT_INTEGRITY when even a fresh entry does not read back intact
 */
export async function resettableCached(transpiledDir: string, transpileKey: string, cache: Cache): Promise<{ dir: string; plan: ResetPlan; created: boolean }> {
  const { dir, plan, created } = await resettableVerified(() => readTranspiledDir(transpiledDir), transpileKey, cache);
  return { dir, plan, created };
}

/**
 * The resettable form of a transpiled component (made on first use from its verified modules and
 * glue, never from files read again): the same shape as the transpile output, with rewritten
 * modules and patched glue read back through the cache's record, and what a worker needs to
 * reset its instances.
 * @throws ComponentLoadError RUNTIME_COMPONENT_INTEGRITY
 */
export async function loadResettable(transpiled: Transpiled, cache: Cache): Promise<{ transpiled: Transpiled; reset: ComponentResetInfo }> {
  const source = async (): Promise<ResetSource> => ({ modules: transpiled.modules, glue: transpiled.glue, others: [] });
  const { plan, files } = await resettableVerified(source, transpiled.key, cache);
  const form = runnableForm(transpiled.key, files, transpiled.modules.map(([name]) => name));
  return { transpiled: { ...form, meta: transpiled.meta }, reset: resetInfo(plan) };
}

/** A component's resettable form as prepare hands it to workers: the glue and core modules, all verified. */
export type ResettableForm = Omit<Transpiled, 'meta'>;

/**
 * The resettable form of the component whose transpile key is `transpileKey`, when the cache
 * already holds it: read back once through the cache's verification record (every file hashed
 * and compared), without reading the transpile output it was made from, which does not run. An
 * entry changed on disk is removed by that read, and this returns undefined as for a missing one
 * (the caller then makes it again with {@link loadResettable}).
 * @throws ComponentLoadError RUNTIME_COMPONENT_INTEGRITY when the verified entry lacks its glue or plan
 */
export async function readResettable(transpileKey: string, cache: Cache): Promise<{ transpiled: ResettableForm; reset: ComponentResetInfo } | undefined> {
  const content = await cache.readDerived(resetKey(transpileKey), { keep: keepReset });
  if (content === undefined) return undefined;
  const planBytes = content.files.get(PLAN_FILE);
  if (planBytes === undefined) {
    throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The resettable form of component ${transpileKey} in the cache lacks ${PLAN_FILE}; it was not run. Remove the cache entry (spinel cache verify) and start again.`);
  }
  const plan = JSON.parse(planBytes.toString('utf8')) as ResetPlan;
  // build() above wrote every core module under the name the glue asks for, and named each in the plan.
  const names = [...Object.keys(plan.layouts), ...Object.keys(plan.refused)].sort();
  return { transpiled: runnableForm(transpileKey, content.files, names), reset: resetInfo(plan) };
}

/** The glue and the core modules `names` from a verified resettable entry's files. */
function runnableForm(key: string, files: ReadonlyMap<string, Buffer>, names: readonly string[]): ResettableForm {
  const glue = files.get(GLUE_FILE);
  const modules: Transpiled['modules'] = [];
  for (const name of names) {
    const bytes = files.get(name);
    if (bytes === undefined || glue === undefined) {
      throw new ComponentLoadError('RUNTIME_COMPONENT_INTEGRITY', `The resettable form of component ${key} in the cache lacks ${bytes === undefined ? name : GLUE_FILE}; it was not run. Remove the cache entry (spinel cache verify) and start again.`);
    }
    modules.push([name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  }
  const text = (glue as Buffer).toString('utf8');
  return { key, glue: text, glueUrl: glueDataUrl(text), modules };
}
