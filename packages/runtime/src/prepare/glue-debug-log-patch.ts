/**
 * jco 1.35's glue logs through `_debugLog`, which on every call reads
 * `globalThis.process.env.JCO_DEBUG` — in Node a `process.env` read goes to the environment each
 * time, and the glue calls `_debugLog` several times per host call (≈15 µs of a SQLite query's
 * ≈45 µs through the glue, measured in one process). This patch reads the variable once, when the
 * glue is instantiated; output with `JCO_DEBUG` set is unchanged. Text that does not have the
 * expected shape is left alone.
 */

const DEBUG_LOG = /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/;

/** The glue with `_debugLog` reading `JCO_DEBUG` once; unchanged when the text is not jco 1.35's. */
export function patchGlueDebugLog(source: string): { source: string; patched: boolean } {
  if (!DEBUG_LOG.test(source)) return { source, patched: false };
  return {
    source: source.replace(DEBUG_LOG, 'const _jcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG); const _debugLog = (...args) => { if (!_jcoDebug) { return; } console.debug(...args); };'),
    patched: true,
  };
}
