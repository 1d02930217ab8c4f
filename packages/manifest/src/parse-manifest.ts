/**
 * `parseManifest(text)`: TOML → version detection → v2 model (v1 converted) →
 * validation, reporting every independent problem with its line, column and excerpt.
 */
import { parse as parseToml } from 'smol-toml';
import { ManifestAggregateError, ManifestError } from './errors.js';
import type { ManifestWarning, ParsedManifest, AppManifest } from './manifest-model.js';
import { hoistInlineComponents, normalizeDependencies, normalizeTriggerIds, cloneManifest } from './normalize.js';
import type { ModelPaths } from './normalize.js';
import { isTable, Problems, Reader, showPath } from './problems.js';
import type { Problem } from './problems.js';
import { readV1 } from './read-v1.js';
import { readV2 } from './read-v2.js';
import { caretExcerpt, indexToml, locateInIndex } from './toml-location.js';
import type { TomlIndex } from './toml-location.js';
import { findOverlongKey, MAX_KEY_PARTS } from './toml-limits.js';
import { validateManifest } from './validate-manifest.js';

/** Options for {@link parseManifest}. */
export interface ParseManifestOptions {
  /** File path, used in messages and error locations. */
  readonly path?: string;
}

/**
 * Parses and validates `spin.toml` text (v1 or v2).
 *
 * @throws {ManifestAggregateError} `MANIFEST_INVALID`, listing every problem (each with its
 *   own code: `MANIFEST_TOML_SYNTAX`, `MANIFEST_KEY_TOO_DEEP`, `MANIFEST_INVALID_VERSION`,
 *   `MANIFEST_UNKNOWN_FIELD`, …)
 */
export function parseManifest(input: string | Uint8Array, options: ParseManifestOptions = {}): ParsedManifest {
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  const path = options.path;
  const loc = path === undefined ? {} : { path };
  const overlong = findOverlongKey(text);
  if (overlong !== undefined) {
    throw new ManifestAggregateError(
      [
        new ManifestError(
          'MANIFEST_KEY_TOO_DEEP',
          `A key at line ${overlong.line}, column ${overlong.column} has more than ${MAX_KEY_PARTS} dotted parts; no manifest key is that deep. Check the table header or key there.`,
          { ...loc, line: overlong.line, column: overlong.column, excerpt: caretExcerpt(text, overlong.line, overlong.column) },
        ),
      ],
      loc,
    );
  }
  let root: unknown;
  try {
    // Integers as numbers: smol-toml's BigInt mode is several times slower, and no manifest
    // field needs integers beyond 2^53 (they are reported as a TOML error).
    root = parseToml(text);
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const reason = (e.message.split('\n')[0] ?? e.message).replace(/^Invalid TOML document:\s*/, '');
    const line = e.line ?? 1;
    const column = e.column ?? 1;
    throw new ManifestAggregateError(
      [
        new ManifestError('MANIFEST_TOML_SYNTAX', `TOML parse error at line ${line}, column ${column}: ${reason}`, {
          ...loc,
          line,
          column,
          excerpt: caretExcerpt(text, line, column),
          cause: err,
        }),
      ],
      loc,
    );
  }
  const problems = new Problems();
  const reader = new Reader(problems);
  const table = isTable(root) ? root : {};
  const rawVersion = table['spin_manifest_version'] ?? table['spin_version'];
  let manifest: AppManifest | undefined;
  let manifestVersion: 1 | 2 = 2;
  const paths: ModelPaths = { components: {}, triggers: {} };
  if (rawVersion === undefined) {
    problems.add('MANIFEST_MISSING_FIELD', 'missing field `spin_manifest_version`; add `spin_manifest_version = 2` at the top of the file', [], 'key');
  } else if (rawVersion === '1') {
    manifestVersion = 1;
    manifest = readV1(reader, table, paths);
  } else if (rawVersion === 2 || rawVersion === 2n) {
    manifest = readV2(reader, table);
    for (const id of Object.keys(manifest.components)) paths.components[id] = ['component', id];
    for (const [type, list] of Object.entries(manifest.triggers)) paths.triggers[type] = list.map((_, i) => ['trigger', type, i]);
  } else {
    const key = table['spin_manifest_version'] !== undefined ? 'spin_manifest_version' : 'spin_version';
    problems.add('MANIFEST_INVALID_VERSION', `invalid manifest version: ${tomlRepr(rawVersion)}; use \`spin_manifest_version = 2\``, [key]);
  }
  if (manifest !== undefined) {
    const normalized = cloneManifest(manifest);
    normalizeTriggerIds(normalized);
    hoistInlineComponents(normalized, paths);
    validateManifest(normalized, paths, problems, manifestVersion);
    for (const p of normalizeDependencies(normalized, paths)) problems.list.push(p);
  }
  const index = lazyIndex(text);
  if (problems.list.length > 0 || manifest === undefined) {
    throw aggregate(text, dedupe(problems.list), path, index);
  }
  const warnings: ManifestWarning[] = problems.warnings.slice(0, MAX_LISTED_PROBLEMS).map((w) => {
    const pos = locateInIndex(index(), w.keyPath, 'value');
    return pos === undefined ? { code: w.code, message: w.message } : { code: w.code, message: w.message, line: pos.line, column: pos.column };
  });
  return { manifest, manifestVersion, ...(path === undefined ? {} : { path }), warnings, text, keyPaths: paths };
}

function dedupe(list: Problem[]): Problem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = `${p.code}\u0000${p.message}\u0000${showPath(p.keyPath)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Most problems listed in one error. A manifest of thousands of bad tables (2,000 copies of
 * one header) would otherwise cost a lookup per problem and a message nobody reads; the rest
 * are counted in the message.
 */
export const MAX_LISTED_PROBLEMS = 100;

/** The aggregate error for a text's problems: at most {@link MAX_LISTED_PROBLEMS}, located. */
export function aggregate(text: string, list: readonly Problem[], path: string | undefined, index: () => TomlIndex = lazyIndex(text)): ManifestAggregateError {
  const listed = list.slice(0, MAX_LISTED_PROBLEMS).map((p) => toError(text, p, path, index));
  return new ManifestAggregateError(listed, { ...(path === undefined ? {} : { path }), total: list.length });
}

function lazyIndex(text: string): () => TomlIndex {
  let index: TomlIndex | undefined;
  return () => (index ??= indexToml(text));
}

/** Converts a located problem into an error with line, column and excerpt. */
export function toError(text: string, p: Problem, path: string | undefined, index: () => TomlIndex = lazyIndex(text)): ManifestError {
  const pos = p.keyPath.length === 0 ? { line: 1, column: 1, length: 1 } : locateInIndex(index(), p.keyPath, p.at);
  const keyPath = showPath(p.keyPath);
  return new ManifestError(p.code, p.message, {
    ...(path === undefined ? {} : { path }),
    ...(keyPath === '' ? {} : { keyPath }),
    ...(pos === undefined ? {} : { line: pos.line, column: pos.column, excerpt: caretExcerpt(text, pos.line, pos.column, pos.length) }),
  });
}

function tomlRepr(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(tomlRepr).join(', ')}]`;
  if (isTable(v)) return `{ ${Object.entries(v).map(([k, x]) => `${k} = ${tomlRepr(x)}`).join(', ')} }`;
  return String(v);
}
