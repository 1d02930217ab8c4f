/**
 * Spin's locked-app model (`spin.lock`): the TypeScript shape, a reader that accepts what
 * Spin writes, and a writer that produces the bytes Spin produces.
 */
import { LockedAppError } from './errors.js';
import { carryFloatMarks, copyFloatMarks, stringifyJson } from './json-floats.js';

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** `must_understand` values this implementation understands. */
export const KNOWN_MUST_UNDERSTAND = ['host_requirements', 'component_host_requirements'] as const;
/** Host requirement keys this implementation supports. */
export const SUPPORTED_HOST_REQUIREMENTS = ['local_service_chaining', 'middleware'] as const;
/** The content type Spin gives every component source. */
export const WASM_CONTENT_TYPE = 'application/wasm';

/** Reference to content: at least one of `source` (URI), `inline` bytes, `digest`. */
export interface ContentRef {
  /** A URI, in practice a `file://` URL of an absolute path. */
  source?: string;
  /** Inline content (serialised as unpadded standard base64). */
  inline?: Uint8Array;
  /** `sha256:<hex>`. */
  digest?: string;
}

/** A component's Wasm: `content_type` plus a flattened {@link ContentRef}. */
export interface LockedComponentSource extends ContentRef {
  content_type: string;
}

/** A file or directory mounted into the guest at `path`. */
export interface ContentPath extends ContentRef {
  path: string;
}

/** Which configuration a dependency inherits: Spin's externally tagged enum. */
export type InheritConfiguration = 'All' | { Some: string[] };

/** A resolved component (or trigger) dependency. */
export interface LockedComponentDependency {
  source: LockedComponentSource;
  /** Always present in JSON; `null` when the whole component satisfies the import. */
  export: string | null;
  /** Omitted when nothing is inherited. */
  inherit?: InheritConfiguration;
}

/** A trigger: its type, its opaque configuration (with `component` set to the id). */
export interface LockedTrigger {
  id: string;
  trigger_type: string;
  trigger_config: JsonValue;
  trigger_dependencies?: Record<string, LockedComponentDependency[]>;
}

/** An application variable; "required" is the absence of `default`. */
export interface LockedVariable {
  description?: string;
  default?: string;
  secret?: boolean;
}

/** Metadata of a component as Spin writes it; unknown keys are kept. */
export interface LockedComponentMetadata {
  description?: string;
  allowed_outbound_hosts?: string[];
  key_value_stores?: string[];
  databases?: string[];
  ai_models?: string[];
  build?: JsonValue;
  [key: string]: JsonValue | undefined;
}

/** A component ready to run. */
export interface LockedComponent {
  id: string;
  metadata?: LockedComponentMetadata;
  source: LockedComponentSource;
  env?: Record<string, string>;
  files?: ContentPath[];
  config?: Record<string, string>;
  dependencies?: Record<string, LockedComponentDependency>;
  trigger_dependencies?: Record<string, LockedComponentDependency[]>;
  host_requirements?: Record<string, JsonValue>;
}

/** App metadata written by the loader; unknown keys are kept. */
export interface LockedAppMetadata {
  name?: string;
  version?: string;
  description?: string;
  authors?: string[];
  origin?: string;
  trigger?: JsonValue;
  triggers?: JsonValue;
  profile?: string;
  oci_image_digest?: string;
  [key: string]: JsonValue | undefined;
}

/** Spin's locked app. `spin_lock_version` is computed on serialisation. */
export interface LockedApp {
  /** As read (0 or 1); ignored when serialising (Spin derives it). */
  spin_lock_version?: number;
  must_understand?: string[];
  metadata?: LockedAppMetadata;
  host_requirements?: Record<string, JsonValue>;
  variables?: Record<string, LockedVariable>;
  triggers: LockedTrigger[];
  components: LockedComponent[];
}

/**
 * Reads a locked app from JSON text (or an already parsed value) the way Spin does:
 * unknown top-level fields are ignored, `must_understand` entries must be known,
 * `spin_lock_version` must be ≤ 1, host requirements with value `"optional"` are dropped.
 *
 * @throws {LockedAppError} `MANIFEST_LOCKED_JSON_SYNTAX`, `MANIFEST_LOCKED_INVALID`,
 *   `MANIFEST_LOCKED_UNSUPPORTED_VERSION`, `MANIFEST_LOCKED_MUST_UNDERSTAND`,
 *   `MANIFEST_LOCKED_UNSUPPORTED_HOST_REQUIREMENT`
 */
export function parseLockedApp(input: string | Uint8Array | unknown): LockedApp {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new LockedAppError(
        'MANIFEST_LOCKED_JSON_SYNTAX',
        `The locked app is not valid JSON (${(err as Error).message}); regenerate it with \`spinel lock\`.`,
        { cause: err },
      );
    }
  }
  const root = obj(value, '');
  const version = root['spin_lock_version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    invalid('spin_lock_version', 'must be a non-negative integer');
  }
  if (version > 1) {
    throw new LockedAppError(
      'MANIFEST_LOCKED_UNSUPPORTED_VERSION',
      `invalid version ${version} > 1: this locked app was written by a newer Spin; upgrade spinel or regenerate the lock file.`,
    );
  }
  const app: LockedApp = { spin_lock_version: version, triggers: [], components: [] };

  if (root['must_understand'] !== undefined) {
    const mu = arr(root['must_understand'], 'must_understand').map((v, i) => str(v, `must_understand[${i}]`));
    const unknown = mu.filter((m) => !(KNOWN_MUST_UNDERSTAND as readonly string[]).includes(m));
    if (unknown.length > 0) {
      throw new LockedAppError(
        'MANIFEST_LOCKED_MUST_UNDERSTAND',
        `This locked app requires features this version does not understand: ${unknown.join(', ')} (must_understand). Upgrade spinel.`,
      );
    }
    if (mu.length > 0) app.must_understand = mu;
  }
  if (root['metadata'] !== undefined) {
    const md = obj(root['metadata'], 'metadata');
    if (Object.keys(md).length > 0) app.metadata = md as LockedAppMetadata;
  }
  if (root['host_requirements'] !== undefined) {
    const hr = hostRequirements(root['host_requirements'], 'host_requirements');
    if (Object.keys(hr).length > 0) app.host_requirements = hr;
  }
  if (root['variables'] !== undefined) {
    const vars = obj(root['variables'], 'variables');
    const out: Record<string, LockedVariable> = {};
    for (const [name, raw] of Object.entries(vars)) {
      const v = obj(raw, `variables.${name}`);
      const lv: LockedVariable = {};
      if (v['description'] !== undefined && v['description'] !== null) lv.description = str(v['description'], `variables.${name}.description`);
      if (v['default'] !== undefined && v['default'] !== null) lv.default = str(v['default'], `variables.${name}.default`);
      if (v['secret'] !== undefined) {
        if (typeof v['secret'] !== 'boolean') invalid(`variables.${name}.secret`, 'must be a boolean');
        if (v['secret']) lv.secret = true;
      }
      out[name] = lv;
    }
    if (Object.keys(out).length > 0) app.variables = out;
  }
  if (root['triggers'] === undefined) invalid('triggers', 'is missing');
  if (root['components'] === undefined) invalid('components', 'is missing');
  app.triggers = arr(root['triggers'], 'triggers').map((t, i) => readTrigger(t, `triggers[${i}]`));
  app.components = arr(root['components'], 'components').map((c, i) => readComponent(c, `components[${i}]`));
  return app;
}

function readTrigger(value: unknown, at: string): LockedTrigger {
  const t = obj(value, at);
  const trigger: LockedTrigger = {
    id: str(t['id'], `${at}.id`),
    trigger_type: str(t['trigger_type'], `${at}.trigger_type`),
    trigger_config: (t['trigger_config'] ?? null) as JsonValue,
  };
  if (!('trigger_config' in t)) invalid(`${at}.trigger_config`, 'is missing');
  if (t['trigger_dependencies'] !== undefined) {
    const deps = depLists(t['trigger_dependencies'], `${at}.trigger_dependencies`);
    if (Object.keys(deps).length > 0) trigger.trigger_dependencies = deps;
  }
  return trigger;
}

function readComponent(value: unknown, at: string): LockedComponent {
  const c = obj(value, at);
  const component: LockedComponent = {
    id: str(c['id'], `${at}.id`),
    source: readSource(c['source'], `${at}.source`),
  };
  if (c['metadata'] !== undefined) {
    const md = obj(c['metadata'], `${at}.metadata`);
    if (Object.keys(md).length > 0) component.metadata = md as LockedComponentMetadata;
  }
  if (c['env'] !== undefined) {
    const env = strMap(c['env'], `${at}.env`);
    if (Object.keys(env).length > 0) component.env = env;
  }
  if (c['files'] !== undefined) {
    const files = arr(c['files'], `${at}.files`).map((f, i) => {
      const fo = obj(f, `${at}.files[${i}]`);
      return { ...readContentRef(fo, `${at}.files[${i}]`), path: str(fo['path'], `${at}.files[${i}].path`) };
    });
    if (files.length > 0) component.files = files;
  }
  if (c['config'] !== undefined) {
    const config = strMap(c['config'], `${at}.config`);
    if (Object.keys(config).length > 0) component.config = config;
  }
  if (c['dependencies'] !== undefined) {
    const deps: Record<string, LockedComponentDependency> = {};
    for (const [name, d] of Object.entries(obj(c['dependencies'], `${at}.dependencies`))) {
      deps[name] = readDependency(d, `${at}.dependencies.${name}`);
    }
    if (Object.keys(deps).length > 0) component.dependencies = deps;
  }
  if (c['trigger_dependencies'] !== undefined) {
    const deps = depLists(c['trigger_dependencies'], `${at}.trigger_dependencies`);
    if (Object.keys(deps).length > 0) component.trigger_dependencies = deps;
  }
  if (c['host_requirements'] !== undefined) {
    const hr = hostRequirements(c['host_requirements'], `${at}.host_requirements`);
    if (Object.keys(hr).length > 0) component.host_requirements = hr;
  }
  return component;
}

function depLists(value: unknown, at: string): Record<string, LockedComponentDependency[]> {
  const out: Record<string, LockedComponentDependency[]> = {};
  for (const [role, list] of Object.entries(obj(value, at))) {
    out[role] = arr(list, `${at}.${role}`).map((d, i) => readDependency(d, `${at}.${role}[${i}]`));
  }
  return out;
}

function readDependency(value: unknown, at: string): LockedComponentDependency {
  const d = obj(value, at);
  const exp = d['export'];
  if (exp !== undefined && exp !== null && typeof exp !== 'string') invalid(`${at}.export`, 'must be a string or null');
  const dep: LockedComponentDependency = {
    source: readSource(d['source'], `${at}.source`),
    export: typeof exp === 'string' ? exp : null,
  };
  const inherit = d['inherit'];
  if (inherit !== undefined && inherit !== null) {
    if (inherit === 'All') dep.inherit = 'All';
    else {
      const io = obj(inherit, `${at}.inherit`);
      const some = arr(io['Some'], `${at}.inherit.Some`).map((s, i) => str(s, `${at}.inherit.Some[${i}]`));
      if (some.length > 0) dep.inherit = { Some: some };
    }
  }
  return dep;
}

function readSource(value: unknown, at: string): LockedComponentSource {
  const s = obj(value, at);
  return { content_type: str(s['content_type'], `${at}.content_type`), ...readContentRef(s, at) };
}

function readContentRef(o: Record<string, unknown>, at: string): ContentRef {
  const ref: ContentRef = {};
  if (o['source'] !== undefined && o['source'] !== null) ref.source = str(o['source'], `${at}.source`);
  if (o['inline'] !== undefined && o['inline'] !== null) {
    const text = str(o['inline'], `${at}.inline`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
      invalid(`${at}.inline`, 'is not valid base64');
    }
    ref.inline = new Uint8Array(Buffer.from(text, 'base64'));
  }
  if (o['digest'] !== undefined && o['digest'] !== null) ref.digest = str(o['digest'], `${at}.digest`);
  return ref;
}

function hostRequirements(value: unknown, at: string): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(obj(value, at))) {
    if (v === 'optional') continue;
    out[k] = v as JsonValue;
  }
  const unsupported = Object.keys(out).filter((k) => !(SUPPORTED_HOST_REQUIREMENTS as readonly string[]).includes(k));
  if (unsupported.length > 0) {
    throw new LockedAppError(
      'MANIFEST_LOCKED_UNSUPPORTED_HOST_REQUIREMENT',
      `This version of Spin does not support the following features required by this application: ${unsupported.join(', ')}. Upgrade spinel to run this app.`,
    );
  }
  return out;
}

function invalid(at: string, what: string): never {
  throw new LockedAppError('MANIFEST_LOCKED_INVALID', `Invalid locked app: \`${at}\` ${what}; regenerate it with \`spinel lock\`.`, { keyPath: at });
}

function obj(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(at === '' ? '(root)' : at, 'must be an object');
  return value as Record<string, unknown>;
}

function arr(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) invalid(at, 'must be an array');
  return value;
}

function str(value: unknown, at: string): string {
  if (typeof value !== 'string') invalid(at, 'must be a string');
  return value;
}

function strMap(value: unknown, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value, at))) out[k] = str(v, `${at}.${k}`);
  return out;
}

/** Options of {@link serializeLockedApp}. */
export interface SerializeLockedAppOptions {
  /**
   * `pretty`: two-space indent, as Spin writes `spin.lock` (`serde_json::to_vec_pretty`);
   * `compact`: no whitespace, as Spin pushes the locked-app layer (`serde_json::to_vec`).
   * @default 'pretty'
   */
  format?: 'pretty' | 'compact';
}

/**
 * Serialises a locked app exactly as Spin does: field order of Spin's structs, empty
 * fields omitted, map keys sorted by their UTF-8 bytes (serde_json's `Map` is a `BTreeMap`
 * without the `preserve_order` feature), `spin_lock_version` 0 unless `must_understand`
 * or app `host_requirements` are present (then 1), no trailing newline.
 */
export function serializeLockedApp(app: LockedApp, options: SerializeLockedAppOptions = {}): string {
  return stringifyJson(lockedAppToJson(app), options.format !== 'compact');
}

/** The JSON value {@link serializeLockedApp} prints (ordered, empty fields omitted). */
export function lockedAppToJson(app: LockedApp): JsonObject {
  const mu = app.must_understand ?? [];
  const hr = app.host_requirements ?? {};
  const out: JsonObject = {
    spin_lock_version: mu.length === 0 && Object.keys(hr).length === 0 ? 0 : 1,
  };
  if (mu.length > 0) out['must_understand'] = [...mu];
  putMap(out, 'metadata', app.metadata);
  putMap(out, 'host_requirements', hr);
  if (app.variables !== undefined && Object.keys(app.variables).length > 0) {
    const vars: JsonObject = {};
    for (const name of sortedKeys(app.variables)) {
      const v = app.variables[name] as LockedVariable;
      const o: JsonObject = {};
      if (v.description !== undefined) o['description'] = v.description;
      if (v.default !== undefined) o['default'] = v.default;
      if (v.secret === true) o['secret'] = true;
      vars[name] = o;
    }
    out['variables'] = vars;
  }
  out['triggers'] = app.triggers.map((t) => {
    const o: JsonObject = { id: t.id, trigger_type: t.trigger_type, trigger_config: sortJson(t.trigger_config) };
    putDepLists(o, t.trigger_dependencies);
    return o;
  });
  out['components'] = app.components.map(componentToJson);
  return out;
}

function componentToJson(c: LockedComponent): JsonObject {
  const o: JsonObject = { id: c.id };
  putMap(o, 'metadata', c.metadata);
  o['source'] = sourceToJson(c.source);
  putMap(o, 'env', c.env);
  if (c.files !== undefined && c.files.length > 0) {
    o['files'] = c.files.map((f) => ({ ...contentRefToJson(f), path: f.path }));
  }
  putMap(o, 'config', c.config);
  if (c.dependencies !== undefined && Object.keys(c.dependencies).length > 0) {
    const deps: JsonObject = {};
    for (const name of sortedKeys(c.dependencies)) deps[name] = dependencyToJson(c.dependencies[name] as LockedComponentDependency);
    o['dependencies'] = deps;
  }
  putDepLists(o, c.trigger_dependencies);
  putMap(o, 'host_requirements', c.host_requirements);
  return o;
}

function putDepLists(o: JsonObject, deps: Record<string, LockedComponentDependency[]> | undefined): void {
  if (deps === undefined || Object.keys(deps).length === 0) return;
  const out: JsonObject = {};
  for (const role of sortedKeys(deps)) out[role] = (deps[role] ?? []).map(dependencyToJson);
  o['trigger_dependencies'] = out;
}

function dependencyToJson(d: LockedComponentDependency): JsonObject {
  const o: JsonObject = { source: sourceToJson(d.source), export: d.export };
  if (d.inherit === 'All') o['inherit'] = 'All';
  else if (d.inherit !== undefined && d.inherit.Some.length > 0) o['inherit'] = { Some: [...d.inherit.Some] };
  return o;
}

function sourceToJson(s: LockedComponentSource): JsonObject {
  return { content_type: s.content_type, ...contentRefToJson(s) };
}

function contentRefToJson(r: ContentRef): JsonObject {
  const o: JsonObject = {};
  if (r.source !== undefined) o['source'] = r.source;
  if (r.inline !== undefined) o['inline'] = Buffer.from(r.inline).toString('base64').replace(/=+$/, '');
  if (r.digest !== undefined) o['digest'] = r.digest;
  return o;
}

function putMap(o: JsonObject, key: string, map: Record<string, JsonValue | undefined> | undefined): void {
  if (map === undefined) return;
  const sorted: JsonObject = {};
  for (const k of sortedKeys(map)) {
    const v = map[k];
    if (v !== undefined) sorted[k] = sortJson(v);
  }
  carryFloatMarks(map, sorted);
  if (Object.keys(sorted).length > 0) o[key] = sorted;
}

/** Sorts object keys recursively, as serde_json's `Map` (a BTreeMap) does. */
export function sortJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    const out = value.map(sortJson);
    carryFloatMarks(value, out);
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const k of sortedKeys(value)) out[k] = sortJson(value[k] as JsonValue);
    carryFloatMarks(value, out);
    return out;
  }
  return value;
}

/**
 * A deep copy of a locked app to change freely (what `structuredClone` gives), keeping which
 * integral numbers are floats so that it serialises as the original does.
 */
export function cloneLockedApp(app: LockedApp): LockedApp {
  const out = structuredClone(app);
  copyFloatMarks(app, out);
  return out;
}

// BTreeMap<String, _> orders keys by their UTF-8 bytes. Comparing UTF-16 code units agrees
// except when a key holds a character above U+FFFF against one in U+E000–U+FFFF, so keys
// outside ASCII are compared as bytes.
function sortedKeys(o: object): string[] {
  return Object.keys(o).sort(compareUtf8);
}

function compareUtf8(a: string, b: string): number {
  // eslint-disable-next-line no-control-regex -- ASCII range test
  if (/^[\u0000-\u007f]*$/.test(a) && /^[\u0000-\u007f]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
