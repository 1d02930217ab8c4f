import { parse } from 'smol-toml';
import { CliError } from '../errors.js';
import { nearest } from '../suggest.js';

/**
 * A template's `metadata/spin-template.toml`, as Spin reads it (Spin's
 * `crates/templates/src/reader.rs` and `template.rs`): manifest_version "1", unknown fields
 * refused, `trigger_type` accepted and ignored, `custom_filters` refused.
 */
export interface TemplateManifest {
  readonly id: string;
  readonly description: string | undefined;
  /** Lower-cased, as Spin compares them. */
  readonly tags: readonly string[];
  /** Absent when the template cannot create a new application. */
  readonly newApplication: TemplateVariant | undefined;
  /** Absent when the template cannot be added to an existing application. */
  readonly addComponent: TemplateVariant | undefined;
  /** In declaration order (prompts follow it). */
  readonly parameters: readonly TemplateParameter[];
  readonly outputs: readonly ExtraOutput[];
}

/** `[new_application]` or `[add_component]`. */
export interface TemplateVariant {
  readonly skipFiles: readonly string[];
  readonly skipParameters: readonly string[];
  /** Snippet id (`component`, `application_trigger`, `variables`) → file under `metadata/snippets`. */
  readonly snippets: Readonly<Record<string, string>>;
  readonly conditions: readonly TemplateCondition[];
}

/** `[add_component.conditions.<name>]`: skips applied when the condition holds. */
export interface TemplateCondition {
  /** `manifest_entry_exists = "a.b.c"`, split on dots. */
  readonly manifestEntryExists: readonly string[];
  readonly skipFiles: readonly string[];
  readonly skipParameters: readonly string[];
  readonly skipSnippets: readonly string[];
}

/** A `[parameters]` entry (type `string` is the only type Spin defines). */
export interface TemplateParameter {
  readonly id: string;
  readonly prompt: string;
  readonly defaultValue: string | undefined;
  readonly pattern: RegExp | undefined;
  readonly allowedValues: readonly string[] | undefined;
}

/** An `[outputs]` entry: `action = "create_dir"`, a Liquid `path`, `at` component or manifest. */
export interface ExtraOutput {
  readonly id: string;
  readonly path: string;
  readonly at: 'component' | 'manifest';
}

const TOP_FIELDS = ['manifest_version', 'id', 'description', 'trigger_type', 'tags', 'new_application', 'add_component', 'parameters', 'custom_filters', 'outputs'];
const VARIANT_FIELDS = ['supported', 'skip_files', 'skip_parameters', 'snippets', 'conditions'];
const CONDITION_FIELDS = ['condition', 'skip_files', 'skip_parameters', 'skip_snippets'];
const PARAMETER_FIELDS = ['type', 'prompt', 'default', 'pattern', 'allowed_values'];
const OUTPUT_FIELDS = ['action', 'path', 'at'];

/**
 * Parses a template manifest's text.
 *
 * @throws {CliError} `CLI_TEMPLATE_INVALID` naming the field that is wrong
 */
export function parseTemplateManifest(text: string, where: string): TemplateManifest {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw invalid(where, `Failed to parse template manifest TOML: ${(cause as Error).message}`, cause);
  }
  const version = doc['manifest_version'];
  if (version === undefined) throw invalid(where, 'missing field `manifest_version` (write manifest_version = "1")');
  if (version !== '1') throw invalid(where, `unknown manifest_version ${JSON.stringify(version)}: the only version is "1" (a string)`);
  checkFields(doc, TOP_FIELDS, '', where);
  if (doc['custom_filters'] !== undefined) {
    throw invalid(where, 'Custom filters are not supported in this version of Spin. Please update your template.');
  }
  const id = str(doc, 'id', where, '');
  if (id === undefined) throw invalid(where, 'missing field `id`');
  if (id.trim() === '') throw invalid(where, '`id` must not be empty');
  const tags = strList(doc, 'tags', where, '') ?? [];
  const parameters: TemplateParameter[] = [];
  for (const [pid, raw] of Object.entries(table(doc, 'parameters', where, '') ?? {})) {
    parameters.push(parseParameter(pid, raw, where));
  }
  const outputs: ExtraOutput[] = [];
  for (const [oid, raw] of Object.entries(table(doc, 'outputs', where, '') ?? {})) {
    outputs.push(parseOutput(oid, raw, where));
  }
  return {
    id,
    description: str(doc, 'description', where, ''),
    tags: [...new Set(tags.map((t) => t.toLowerCase()))],
    newApplication: parseVariant(doc['new_application'], true, 'new_application', where),
    addComponent: parseVariant(doc['add_component'], false, 'add_component', where),
    parameters,
    outputs,
  };
}

function parseVariant(raw: unknown, defaultSupported: boolean, key: string, where: string): TemplateVariant | undefined {
  if (raw === undefined) return defaultSupported ? { skipFiles: [], skipParameters: [], snippets: {}, conditions: [] } : undefined;
  const t = asTable(raw, key, where);
  checkFields(t, VARIANT_FIELDS, key, where);
  const supported = t['supported'];
  if (supported !== undefined && typeof supported !== 'boolean') throw invalid(where, `\`${key}.supported\` must be true or false`);
  if (supported === false) return undefined;
  const snippets: Record<string, string> = {};
  for (const [sid, file] of Object.entries(table(t, 'snippets', where, key) ?? {})) {
    if (typeof file !== 'string') throw invalid(where, `\`${key}.snippets.${sid}\` must be a file name (a string)`);
    snippets[sid] = file;
  }
  const conditions: TemplateCondition[] = [];
  for (const [cid, rawCondition] of Object.entries(table(t, 'conditions', where, key) ?? {})) {
    const path = `${key}.conditions.${cid}`;
    const c = asTable(rawCondition, path, where);
    checkFields(c, CONDITION_FIELDS, path, where);
    const condition = c['condition'];
    if (condition === undefined) throw invalid(where, `missing field \`${path}.condition\``);
    if (typeof condition !== 'object' || condition === null || Array.isArray(condition) || Object.keys(condition).length !== 1) {
      throw invalid(where, `Invalid condition in \`${path}\`: should be a single-entry table`);
    }
    const entry = (condition as Record<string, unknown>)['manifest_entry_exists'];
    if (entry === undefined) throw invalid(where, `Invalid condition in \`${path}\`: unknown condition type (the only one is manifest_entry_exists)`);
    if (typeof entry !== 'string') throw invalid(where, `Invalid condition in \`${path}\`: 'manifest_entry_exists' should be a dotted-path string`);
    conditions.push({
      manifestEntryExists: entry.split('.'),
      skipFiles: strList(c, 'skip_files', where, path) ?? [],
      skipParameters: strList(c, 'skip_parameters', where, path) ?? [],
      skipSnippets: strList(c, 'skip_snippets', where, path) ?? [],
    });
  }
  return {
    skipFiles: strList(t, 'skip_files', where, key) ?? [],
    skipParameters: strList(t, 'skip_parameters', where, key) ?? [],
    snippets,
    conditions,
  };
}

function parseParameter(id: string, raw: unknown, where: string): TemplateParameter {
  const path = `parameters.${id}`;
  const t = asTable(raw, path, where);
  checkFields(t, PARAMETER_FIELDS, path, where);
  const type = str(t, 'type', where, path);
  if (type === undefined) throw invalid(where, `missing field \`${path}.type\` (the only type is "string")`);
  if (type !== 'string') throw invalid(where, `Unrecognised data type '${type}' for \`${path}\` (the only type is "string")`);
  const prompt = str(t, 'prompt', where, path);
  if (prompt === undefined) throw invalid(where, `missing field \`${path}.prompt\``);
  const source = str(t, 'pattern', where, path);
  let pattern: RegExp | undefined;
  if (source !== undefined) {
    pattern = compilePattern(source);
    if (pattern === undefined) {
      throw invalid(where, `\`${path}.pattern\` is not a valid regular expression: ${source}`);
    }
  }
  return { id, prompt, defaultValue: str(t, 'default', where, path), pattern, allowedValues: strList(t, 'allowed_values', where, path) };
}

function parseOutput(id: string, raw: unknown, where: string): ExtraOutput {
  const path = `outputs.${id}`;
  const t = asTable(raw, path, where);
  checkFields(t, OUTPUT_FIELDS, path, where);
  const action = str(t, 'action', where, path);
  if (action !== 'create_dir') throw invalid(where, `\`${path}.action\` must be "create_dir" (the only output action)`);
  const outPath = str(t, 'path', where, path);
  if (outPath === undefined) throw invalid(where, `missing field \`${path}.path\``);
  const at = str(t, 'at', where, path) ?? 'component';
  if (at !== 'component' && at !== 'manifest') throw invalid(where, `\`${path}.at\` must be "component" or "manifest"`);
  return { id, path: outPath, at };
}

/**
 * Spin compiles patterns with Rust's regex crate (Unicode-aware, unanchored `is_match`). JS's
 * `u` mode is closest, but refuses escapes Rust accepts (`\-` outside a class), so those
 * patterns fall back to plain mode.
 */
function compilePattern(source: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(source, flags);
    } catch {
      // try the next mode
    }
  }
  return undefined;
}

function checkFields(t: Record<string, unknown>, allowed: readonly string[], path: string, where: string): void {
  for (const key of Object.keys(t)) {
    if (allowed.includes(key)) continue;
    const guess = nearest(key, allowed);
    const at = path === '' ? '' : ` in \`${path}\``;
    throw invalid(where, `unknown field \`${key}\`${at}${guess === undefined ? '' : ` (did you mean \`${guess}\`?)`}, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`);
  }
}

function asTable(raw: unknown, path: string, where: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Date) throw invalid(where, `\`${path}\` must be a table`);
  return raw as Record<string, unknown>;
}

function table(t: Record<string, unknown>, key: string, where: string, path: string): Record<string, unknown> | undefined {
  const v = t[key];
  return v === undefined ? undefined : asTable(v, path === '' ? key : `${path}.${key}`, where);
}

function str(t: Record<string, unknown>, key: string, where: string, path: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(where, `\`${path === '' ? key : `${path}.${key}`}\` must be a string`);
  return v;
}

function strList(t: Record<string, unknown>, key: string, where: string, path: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(where, `\`${path === '' ? key : `${path}.${key}`}\` must be a list of strings`);
  return v as string[];
}

function invalid(where: string, detail: string, cause?: unknown): CliError {
  return new CliError('CLI_TEMPLATE_INVALID', `Manifest file ${where} is not a valid template manifest: ${detail}`, cause === undefined ? {} : { cause });
}

/** Checks a value against a parameter's pattern and allowed values; returns why it is refused (Spin's wording), or undefined. */
export function parameterValueProblem(parameter: TemplateParameter, value: string): string | undefined {
  if (parameter.pattern !== undefined && !parameter.pattern.test(value)) {
    return `Input '${value}' does not match pattern '${parameter.pattern.source}'`;
  }
  if (parameter.allowedValues !== undefined && !parameter.allowedValues.includes(value)) {
    return `Input '${value}' is not one of the allowed values (${parameter.allowedValues.join(', ')})`;
  }
  return undefined;
}
