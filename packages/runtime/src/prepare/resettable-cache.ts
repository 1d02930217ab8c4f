/**
 * The resettable form of a transpiled component, made once and kept in the cache beside the
 * transpile output: each core module rewritten by `makeResettable` (or copied when refused) and
 * the glue patched by `patchGlueState`, with a `reset.json` saying which is which.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import type { Cache } from '@spinel/cache';
import type { Transpiled } from './component-source.js';
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

async function build(transpiledDir: string, out: string): Promise<void> {
  const plan: ResetPlan = { version: RESET_REWRITE_VERSION, layouts: {}, refused: {}, glue: { patched: false, reason: 'no glue' } };
  for (const name of (await readdir(transpiledDir)).sort()) {
    const from = join(transpiledDir, name);
    if (name.endsWith('.wasm')) {
      const bytes = new Uint8Array(await readFile(from));
      const result = makeResettable(bytes);
      if (result.ok) plan.layouts[name] = result.layout;
      else {
        plan.refused[name] = result.reason;
        debug('core module %s cannot be reset: %s', name, result.reason);
      }
      await writeFile(join(out, name), result.ok ? result.bytes : bytes);
    } else if (name === GLUE_FILE) {
      const source = await readFile(from, 'utf8');
      const patch = patchGlueState(source);
      plan.glue = patch.ok ? { patched: true, importKey: GLUE_STATE_IMPORT, captureTables: patch.captureTables, bookkeeping: patch.bookkeeping } : { patched: false, reason: patch.reason };
      if (!patch.ok) debug('glue left unpatched: %s', patch.reason);
      await writeFile(join(out, name), patch.ok ? patch.source : source);
    } else {
      await writeFile(join(out, name), await readFile(from));
    }
  }
  await writeFile(join(out, PLAN_FILE), JSON.stringify(plan));
}

/**
 * The resettable form of the transpile output in `transpiledDir`, made once per `transpileKey`
 * (which names the component digest and jco version) and rewrite version.
 * @returns the directory holding the rewritten modules and glue, the plan, and whether this call made them
 */
export async function resettableCached(transpiledDir: string, transpileKey: string, cache: Cache): Promise<{ dir: string; plan: ResetPlan; created: boolean }> {
  const key = `spinel-reset-${RESET_REWRITE_VERSION}-${transpileKey}`;
  let dir = await cache.getDerived(key);
  let created = false;
  if (dir === undefined) {
    debug('making component %s resettable', transpileKey);
    ({ path: dir, created } = await cache.putDerived(key, (tmp) => build(transpiledDir, tmp)));
  }
  const plan = JSON.parse(await readFile(join(dir, PLAN_FILE), 'utf8')) as ResetPlan;
  return { dir, plan, created };
}

/**
 * The resettable form of a transpiled component read back from the cache (made on first use):
 * the same shape as the transpile output, with rewritten modules and patched glue, and what a
 * worker needs to reset its instances.
 */
export async function loadResettable(transpiled: Transpiled, cache: Cache): Promise<{ transpiled: Transpiled; reset: ComponentResetInfo }> {
  const transpiledDir = dirname(fileURLToPath(transpiled.glueUrl));
  const { dir, plan } = await resettableCached(transpiledDir, basename(transpiledDir), cache);
  const modules: Transpiled['modules'] = [];
  for (const [name] of transpiled.modules) modules.push([name, new Uint8Array(await readFile(join(dir, name)))]);
  return { transpiled: { glueUrl: pathToFileURL(join(dir, GLUE_FILE)).href, meta: transpiled.meta, modules }, reset: resetInfo(plan) };
}
