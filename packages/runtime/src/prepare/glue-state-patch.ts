/**
 * Lets the host reach the guest's resource handle tables inside jco's generated glue.
 *
 * The glue keeps, in closures, one table per resource type mapping the handles a guest holds to
 * host objects (`HANDLE_TABLES`, `captureTableN`). A runtime that keeps one glue run for many
 * fresh core instances (guest/glue-template.ts) must empty them between requests, or a handle a
 * guest left undropped (componentize-js never drops its `incoming-request`) reaches that request's
 * host object, headers and all, from the next request's guest by guessing its number. Nothing
 * outside the closures can see them, so this patch adds one call, at the point where the glue
 * creates them, to a function the host passes among the imports under {@link GLUE_STATE_IMPORT};
 * glue run without that import behaves exactly as before.
 *
 * The patch matches the text jco 1.35 generates (the version is pinned and part of the cache key).
 * When the text does not have the expected shape it is left alone and the caller learns so: such
 * glue is then run again for every instance instead of being kept.
 */

/** The import key under which the host passes `(handleTables, captureTables) => void` to patched glue. */
export const GLUE_STATE_IMPORT = 'spinel:glue-state';

/** Result of {@link patchGlueState}. */
export type GlueStatePatch = { ok: true; source: string; captureTables: number } | { ok: false; reason: string };

const SIGNATURE = /^export function instantiate\(getCoreModule, imports, instantiateCore\b/m;
const HANDLE_TABLES = /^const HANDLE_TABLES\s*=\s*\[\];$/m;
const CAPTURE_TABLE = /^(\s*)const (captureTable\d+)\s*=\s*new Map\(\);$/gm;

function count(source: string, pattern: RegExp): number {
  return [...source.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))].length;
}

/**
 * Adds the hook described above to jco's sync-instantiation glue.
 * @returns the patched source and how many capture tables it registers, or why it was not patched
 */
export function patchGlueState(source: string): GlueStatePatch {
  if (count(source, SIGNATURE) !== 1) return { ok: false, reason: 'the glue has no single instantiate(getCoreModule, imports, instantiateCore) function' };
  if (count(source, HANDLE_TABLES) !== 1) return { ok: false, reason: 'the glue does not declare HANDLE_TABLES once' };
  if (source.includes('spinelGlueCaptureTables')) return { ok: false, reason: 'the glue already uses the name the patch adds' };
  const declared = source.search(HANDLE_TABLES);
  const firstCapture = source.search(new RegExp(CAPTURE_TABLE.source, 'm'));
  if (firstCapture !== -1 && firstCapture < declared) return { ok: false, reason: 'a capture table is declared before HANDLE_TABLES' };
  let captureTables = 0;
  let patched = source.replace(CAPTURE_TABLE, (_line, indent: string, name: string) => {
    captureTables++;
    return `${indent}const ${name} = new Map(); spinelGlueCaptureTables.push(${name});`;
  });
  // The capture tables are declared after HANDLE_TABLES (checked above), in the same function or
  // nested in it, so the array declared here is in scope for every push above.
  patched = patched.replace(
    HANDLE_TABLES,
    `const HANDLE_TABLES = []; const spinelGlueCaptureTables = []; imports[${JSON.stringify(GLUE_STATE_IMPORT)}]?.(HANDLE_TABLES, spinelGlueCaptureTables);`,
  );
  return { ok: true, source: patched, captureTables };
}
