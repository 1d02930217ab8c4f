/**
 * Lets the host reach the state jco's generated glue keeps for the guest.
 *
 * The glue keeps, in closures, one table per resource type mapping the handles a guest holds to
 * host objects (`HANDLE_TABLES`, `captureTableN`). A runtime that keeps one glue run for many
 * fresh core instances (guest/glue-template.ts) must empty them between requests, or a handle a
 * guest left undropped (componentize-js never drops its `incoming-request`) reaches that request's
 * host object, headers and all, from the next request's guest by guessing its number. Beside them
 * the glue keeps its component-model bookkeeping, instance-wide: per component instance the async
 * state (waitables, subtasks, backpressure, the "errored" mark), the task stacks, the resource
 * borrow scopes, the instance flags (may-leave) and the store's trap mark ({@link GLUE_BOOKKEEPING}).
 * A request that returns normally leaves them as it found them, but a reset puts them back too,
 * so that this holds by construction rather than by reading jco's code. Nothing outside the
 * closures can see any of it, so this patch adds one call, where the glue creates
 * `HANDLE_TABLES` (after the bookkeeping, in the same scope), to a function the host passes among
 * the imports under {@link GLUE_STATE_IMPORT}; glue run without that import behaves as before.
 *
 * The patch matches the text jco 1.35 generates (the version is pinned and part of the cache key).
 * When the text does not have the expected shape it is left alone and the caller learns so: such
 * glue is then run again for every instance instead of being kept.
 */

/** The import key under which the host passes `(handleTables, captureTables) => void` to patched glue. */
export const GLUE_STATE_IMPORT = 'spinel:glue-state';

/**
 * The instance-wide bookkeeping of jco 1.35's glue handed to the host, each declared once in
 * `instantiate` before `HANDLE_TABLES` as an empty Map, array or object literal.
 */
export const GLUE_BOOKKEEPING = [
  'ASYNC_STATE',
  'ASYNC_TASKS_BY_COMPONENT_IDX',
  'ASYNC_CURRENT_TASK_IDS',
  'ASYNC_CURRENT_COMPONENT_IDXS',
  'RESOURCE_SCOPE_TASKS',
  'INSTANCE_FLAGS',
  'CURRENT_TASK_META',
  'STORE_TRAP',
] as const;

/** Result of {@link patchGlueState}. */
export type GlueStatePatch = { ok: true; source: string; captureTables: number; bookkeeping: string[] } | { ok: false; reason: string };

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
  // Which bookkeeping this glue has (glue without async or resource machinery may lack some);
  // each must be declared once, before HANDLE_TABLES, or the glue's shape is not the one known.
  const bookkeeping: string[] = [];
  for (const name of GLUE_BOOKKEEPING) {
    const declaration = new RegExp(`^\\s*const ${name}\\s*=\\s*(new Map\\(\\)|\\[\\]|\\{\\}|\\{ error: null \\});$`, 'm');
    const found = count(source, declaration);
    if (found === 0 && !new RegExp(`\\b${name}\\b`).test(source)) continue;
    if (found !== 1) return { ok: false, reason: `the glue does not declare ${name} once as an empty container` };
    if (source.search(declaration) > declared) return { ok: false, reason: `${name} is declared after HANDLE_TABLES` };
    bookkeeping.push(name);
  }
  let captureTables = 0;
  let patched = source.replace(CAPTURE_TABLE, (_line, indent: string, name: string) => {
    captureTables++;
    return `${indent}const ${name} = new Map(); spinelGlueCaptureTables.push(${name});`;
  });
  // The capture tables are declared after HANDLE_TABLES (checked above), in the same function or
  // nested in it, so the array declared here is in scope for every push above.
  patched = patched.replace(
    HANDLE_TABLES,
    `const HANDLE_TABLES = []; const spinelGlueCaptureTables = []; imports[${JSON.stringify(GLUE_STATE_IMPORT)}]?.(HANDLE_TABLES, spinelGlueCaptureTables, { ${bookkeeping.join(', ')} });`,
  );
  return { ok: true, source: patched, captureTables, bookkeeping };
}
