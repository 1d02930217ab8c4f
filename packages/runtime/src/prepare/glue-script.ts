/**
 * jco's glue as a classic script with a V8 code cache, so each worker compiles its ~1 MB once per
 * cache instead of once per start. An ES module has no code cache in Node 20 (a `data:` URL import
 * parses and compiles the whole glue in every worker); a script compiled with `vm.Script` takes
 * `cachedData`. The script is the glue's own text with its two exports turned into a returned
 * object, and `instantiate` — nearly all of the text — parenthesised, which makes V8 compile it
 * eagerly, so the cache made here on the main thread, without running it, holds its code.
 *
 * The cache is a derived cache entry like the transpiled glue: keyed by the script's sha256 and
 * the V8 it was made by, and read back through the cache's verification record (an entry changed
 * on disk is removed and made again), so only bytes this host made are handed to V8. V8 itself
 * refuses data made for another source, V8 version or flags (`cachedDataRejected`), and then
 * compiles the source as if no cache had been given.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { Script } from 'node:vm';
import type { Cache } from '@spinel/cache';

const debug = debuglog('spinel:runtime');

/** The glue of a component as a worker compiles it (plain data: it crosses to workers). */
export interface GlueScript {
  /** A script whose value is a function returning `{ instantiate }`. */
  source: string;
  /** V8's code cache for `source`, verified against its cache record; undefined when none could be made. */
  codeCache: Uint8Array | undefined;
}

/** The name scripts of glue are compiled under (stack traces show it). */
export const GLUE_SCRIPT_NAME = 'spinel-glue.js';

const INSTANTIATE = '\nexport function instantiate(';
const UTIL = '\n};\n\nexport const _util = ';

/**
 * jco's sync glue (`instantiation: 'sync'`: one exported `instantiate` function, then an exported
 * `_util` object) as a classic script, or undefined when the text has another shape (anything
 * else an ES module may do — imports, `import.meta`, other exports — keeps it a module).
 */
export function glueAsScript(glue: string): string | undefined {
  const start = glue.indexOf(INSTANTIATE);
  const end = glue.lastIndexOf(UTIL);
  if (start === -1 || end < start || glue.indexOf(INSTANTIATE, start + 1) !== -1) return undefined;
  const head = glue.slice(0, start);
  const body = glue.slice(start + INSTANTIATE.length, end);
  const util = glue.slice(end + UTIL.length);
  // Nothing else may be module syntax: a line starting with import/export, import.meta, import().
  if (/^\s*(import|export)\b/m.test(`${head}\n${body}\n${util}`) || /\bimport\s*(\.|\()/.test(glue)) return undefined;
  // Module code is strict; the directive keeps it so (the glue's own `"use …"` line follows it).
  return `(function () {\n"use strict";\n${head}\nconst instantiate = (function instantiate(${body}\n});\n\nconst _util = ${util}\nreturn { instantiate, _util };\n})`;
}

/** The derived-cache key of a glue script's code cache (the V8 that made it, the script's digest). */
function codeCacheKey(source: string): string {
  const digest = createHash('sha256').update(source).digest('hex');
  return `spinel-glue-code-1-${process.arch}-v8-${process.versions.v8}-${digest}`;
}

const CODE_FILE = 'glue.code';
const keepCode = (path: string): boolean => path === CODE_FILE;

/**
 * The glue as a script with its code cache (made on first use, cached, read back verified), or
 * undefined when the glue is not of the shape {@link glueAsScript} turns into a script. A cache
 * that cannot be made or kept leaves `codeCache` undefined: workers then compile the source.
 */
export async function glueScript(glue: string, cache: Cache): Promise<GlueScript | undefined> {
  const source = glueAsScript(glue);
  if (source === undefined) return undefined;
  const key = codeCacheKey(source);
  try {
    let content = await cache.readDerived(key, { keep: keepCode });
    if (content === undefined) {
      debug('making the code cache of glue %s', key);
      await cache.putDerived(key, async (tmp) => writeFile(join(tmp, CODE_FILE), new Script(source, { filename: GLUE_SCRIPT_NAME }).createCachedData()));
      content = await cache.readDerived(key, { keep: keepCode });
    }
    const code = content?.files.get(CODE_FILE);
    return { source, codeCache: code === undefined ? undefined : new Uint8Array(code.buffer, code.byteOffset, code.byteLength) };
  } catch (err) {
    // Only speed depends on it: a cache directory that cannot take it leaves the source to compile.
    debug('no code cache for glue %s: %s', key, (err as Error).message);
    return { source, codeCache: undefined };
  }
}
