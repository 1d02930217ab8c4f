/**
 * Reads a parsed v2 TOML document into the manifest model, recording every type,
 * missing-field, unknown-field and identifier problem (Spin's `deny_unknown_fields`).
 */
import { isKebabOrSnake, kebabIdProblem, lowerSnakeIdProblem } from './ids.js';
import type {
  AppDetails,
  AppManifest,
  BuildConfig,
  Component,
  ComponentDependency,
  ComponentSource,
  ComponentSpec,
  FilesMount,
  InheritConfig,
  ProfileOverride,
  Trigger,
  TriggerDependency,
  Variable,
} from './manifest-model.js';
import type { JsonObject } from './locked-app.js';
import { isTable, setKey, showPath, tomlToJson } from './problems.js';
import type { Table , Reader} from './problems.js';
import type { KeyPath } from './toml-location.js';

const TOP_KEYS = ['spin_manifest_version', 'application', 'variables', 'trigger', 'component'];
const APP_KEYS = ['name', 'version', 'description', 'authors', 'targets', 'trigger', 'tool'];
const VARIABLE_KEYS = ['description', 'required', 'default', 'secret'];
/** Fields allowed in `[component.<id>]` (v2). */
export const COMPONENT_KEYS = [
  'source',
  'description',
  'variables',
  'environment',
  'files',
  'exclude_files',
  'allowed_http_hosts',
  'allowed_outbound_hosts',
  'key_value_stores',
  'sqlite_databases',
  'ai_models',
  'targets',
  'build',
  'tool',
  'dependencies_inherit_configuration',
  'dependencies',
  'profile',
];
const BUILD_KEYS = ['command', 'workdir', 'watch'];
const PROFILE_KEYS = ['source', 'environment', 'dependencies', 'build'];
const INHERITABLE = ['ai_models', 'allowed_outbound_hosts', 'environment', 'files', 'key_value_stores', 'sqlite_databases', 'variables'];

/** Reads the whole v2 document. */
export function readV2(r: Reader, root: Table): AppManifest {
  r.knownKeys(root, TOP_KEYS, []);
  const application = readApplication(r, root);
  const variables: Record<string, Variable> = {};
  if (root['variables'] !== undefined) {
    const vt = r.table(root['variables'], ['variables']);
    for (const [name, raw] of Object.entries(vt ?? {})) {
      const kp = ['variables', name];
      const problem = lowerSnakeIdProblem(name);
      if (problem !== undefined) r.problems.add('MANIFEST_INVALID_ID', `invalid variable name ${JSON.stringify(name)}: ${problem}`, kp, 'key');
      const v = readVariable(r, raw, kp);
      if (v !== undefined) setKey(variables, name, v);
    }
  }
  const triggers: Record<string, Trigger[]> = {};
  if (r.required(root, 'trigger', [])) {
    const tt = r.table(root['trigger'], ['trigger']);
    for (const [type, list] of Object.entries(tt ?? {})) {
      const arr = r.array(list, ['trigger', type]);
      if (arr === undefined) continue;
      const out: Trigger[] = [];
      arr.forEach((raw, i) => {
        const t = readTrigger(r, raw, ['trigger', type, i]);
        if (t !== undefined) out.push(t);
      });
      setKey(triggers, type, out);
    }
  }
  const components: Record<string, Component> = {};
  if (root['component'] !== undefined) {
    const ct = r.table(root['component'], ['component']);
    for (const [id, raw] of Object.entries(ct ?? {})) {
      const kp = ['component', id];
      const problem = kebabIdProblem(id);
      if (problem !== undefined) r.problems.add('MANIFEST_INVALID_ID', `invalid component id ${JSON.stringify(id)}: ${problem}`, kp, 'key');
      const c = readComponent(r, raw, kp);
      if (c !== undefined) setKey(components, id, c);
    }
  }
  return { application, variables, triggers, components };
}

function readApplication(r: Reader, root: Table): AppDetails {
  const details: AppDetails = { name: '', version: '', description: '', authors: [], triggerGlobalConfigs: {} };
  if (!r.required(root, 'application', [])) return details;
  const a = r.table(root['application'], ['application']);
  if (a === undefined) return details;
  const kp = ['application'];
  r.knownKeys(a, APP_KEYS, kp);
  if (r.required(a, 'name', kp)) details.name = r.string(a['name'], [...kp, 'name']) ?? '';
  details.version = r.optString(a, 'version', kp) ?? '';
  details.description = r.optString(a, 'description', kp) ?? '';
  details.authors = r.stringArray(a['authors'], [...kp, 'authors']);
  if (a['targets'] !== undefined) readTargets(r, a['targets'], [...kp, 'targets']);
  if (a['trigger'] !== undefined) {
    const tg = r.table(a['trigger'], [...kp, 'trigger']);
    for (const [type, cfg] of Object.entries(tg ?? {})) {
      const t = r.table(cfg, [...kp, 'trigger', type]);
      if (t !== undefined) setKey(details.triggerGlobalConfigs, type, tomlToJson(t) as JsonObject);
    }
  }
  if (a['tool'] !== undefined) readToolTables(r, a['tool'], [...kp, 'tool']);
  return details;
}

function readToolTables(r: Reader, v: unknown, kp: KeyPath): void {
  const t = r.table(v, kp);
  for (const [name, sub] of Object.entries(t ?? {})) r.table(sub, [...kp, name]);
}

function readTargets(r: Reader, v: unknown, kp: KeyPath): void {
  const a = r.array(v, kp);
  a?.forEach((item, i) => {
    if (typeof item === 'string') return;
    if (isTable(item) && Object.keys(item).length === 1 && (typeof item['url'] === 'string' || typeof item['path'] === 'string')) return;
    r.problems.add('MANIFEST_INVALID_TYPE', `invalid target environment at \`${showPath([...kp, i])}\`: expected a string, \`{ url = "..." }\` or \`{ path = "..." }\``, [...kp, i]);
  });
}

function readVariable(r: Reader, raw: unknown, kp: KeyPath): Variable | undefined {
  const t = r.table(raw, kp);
  if (t === undefined) return undefined;
  r.knownKeys(t, VARIABLE_KEYS, kp);
  const v: Variable = { required: false, secret: false };
  const description = r.optString(t, 'description', kp);
  if (description !== undefined) v.description = description;
  if (t['required'] !== undefined) v.required = r.bool(t['required'], [...kp, 'required']) ?? false;
  const def = r.optString(t, 'default', kp);
  if (def !== undefined) v.default = def;
  if (t['secret'] !== undefined) v.secret = r.bool(t['secret'], [...kp, 'secret']) ?? false;
  if (v.required === (v.default !== undefined) && (t['required'] === undefined || typeof t['required'] === 'boolean')) {
    r.problems.add(
      'MANIFEST_VARIABLE_REQUIRED_OR_DEFAULT',
      `variable ${JSON.stringify(String(kp[kp.length - 1]))} must be \`required\` OR have a \`default\`${v.required ? ' (it has both)' : ''}`,
      kp,
      'key',
    );
  }
  return v;
}

function readTrigger(r: Reader, raw: unknown, kp: KeyPath): Trigger | undefined {
  const t = r.table(raw, kp);
  if (t === undefined) return undefined;
  const trigger: Trigger = { id: '', components: {}, dependencies: {}, config: {} };
  if (t['id'] !== undefined) trigger.id = r.string(t['id'], [...kp, 'id']) ?? '';
  if (t['component'] !== undefined) {
    const spec = readComponentSpec(r, t['component'], [...kp, 'component']);
    if (spec !== undefined) trigger.component = spec;
  }
  if (t['components'] !== undefined) {
    const ct = r.table(t['components'], [...kp, 'components']);
    for (const [role, v] of Object.entries(ct ?? {})) {
      const items = Array.isArray(v) ? v : [v];
      const specs: ComponentSpec[] = [];
      items.forEach((item, i) => {
        const s = readComponentSpec(r, item, Array.isArray(v) ? [...kp, 'components', role, i] : [...kp, 'components', role]);
        if (s !== undefined) specs.push(s);
      });
      setKey(trigger.components, role, specs);
    }
  }
  if (t['dependencies'] !== undefined) {
    const dt = r.table(t['dependencies'], [...kp, 'dependencies']);
    for (const [role, v] of Object.entries(dt ?? {})) {
      const arr = r.array(v, [...kp, 'dependencies', role]);
      const deps: TriggerDependency[] = [];
      arr?.forEach((item, i) => {
        const d = readDependency(r, item, [...kp, 'dependencies', role, i], true);
        if (d !== undefined && d.kind !== 'version') deps.push(d);
      });
      setKey(trigger.dependencies, role, deps);
    }
  }
  for (const [k, v] of Object.entries(t)) {
    if (k === 'id' || k === 'component' || k === 'components' || k === 'dependencies') continue;
    setKey(trigger.config, k, tomlToJson(v));
  }
  return trigger;
}

function readComponentSpec(r: Reader, raw: unknown, kp: KeyPath): ComponentSpec | undefined {
  if (typeof raw === 'string') {
    const problem = kebabIdProblem(raw);
    if (problem !== undefined) {
      r.problems.add('MANIFEST_INVALID_ID', `invalid component reference ${JSON.stringify(raw)}: ${problem}`, kp);
      return undefined;
    }
    return { kind: 'reference', id: raw };
  }
  if (isTable(raw)) {
    const c = readComponent(r, raw, kp);
    return c === undefined ? undefined : { kind: 'inline', component: c };
  }
  r.typeError(raw, 'a component id or an inline component table', kp);
  return undefined;
}

/** Reads one `[component.<id>]` table (also used for inline components). */
export function readComponent(r: Reader, raw: unknown, kp: KeyPath): Component | undefined {
  const t = r.table(raw, kp);
  if (t === undefined) return undefined;
  r.knownKeys(t, COMPONENT_KEYS, kp);
  const source = r.required(t, 'source', kp) ? readSource(r, t['source'], [...kp, 'source']) : undefined;
  const c: Component = {
    source: source ?? { kind: 'local', path: '' },
    description: r.optString(t, 'description', kp) ?? '',
    variables: r.stringMap(t['variables'], [...kp, 'variables']),
    environment: r.stringMap(t['environment'], [...kp, 'environment']),
    files: readFiles(r, t['files'], [...kp, 'files']),
    exclude_files: r.stringArray(t['exclude_files'], [...kp, 'exclude_files']),
    allowed_outbound_hosts: r.stringArray(t['allowed_outbound_hosts'], [...kp, 'allowed_outbound_hosts']),
    allowed_http_hosts: r.stringArray(t['allowed_http_hosts'], [...kp, 'allowed_http_hosts']),
    key_value_stores: readLabels(r, t['key_value_stores'], [...kp, 'key_value_stores']),
    sqlite_databases: readLabels(r, t['sqlite_databases'], [...kp, 'sqlite_databases']),
    ai_models: r.stringArray(t['ai_models'], [...kp, 'ai_models']),
    dependencies: {},
    profile: {},
  };
  for (const name of Object.keys(c.variables)) {
    const problem = lowerSnakeIdProblem(name);
    if (problem !== undefined) r.problems.add('MANIFEST_INVALID_ID', `invalid variable name ${JSON.stringify(name)}: ${problem}`, [...kp, 'variables', name], 'key');
  }
  if (t['targets'] !== undefined) readTargets(r, t['targets'], [...kp, 'targets']);
  if (t['build'] !== undefined) {
    const b = readBuild(r, t['build'], [...kp, 'build']);
    if (b !== undefined) c.build = b;
  }
  if (t['tool'] !== undefined) readToolTables(r, t['tool'], [...kp, 'tool']);
  if (t['dependencies_inherit_configuration'] !== undefined) {
    const b = r.bool(t['dependencies_inherit_configuration'], [...kp, 'dependencies_inherit_configuration']);
    if (b !== undefined) c.dependencies_inherit_configuration = b;
  }
  if (t['dependencies'] !== undefined) c.dependencies = readDependencies(r, t['dependencies'], [...kp, 'dependencies']);
  if (t['profile'] !== undefined) {
    const pt = r.table(t['profile'], [...kp, 'profile']);
    for (const [name, p] of Object.entries(pt ?? {})) {
      const o = readProfile(r, p, [...kp, 'profile', name]);
      if (o !== undefined) setKey(c.profile, name, o);
    }
  }
  return c;
}

function readLabels(r: Reader, v: unknown, kp: KeyPath): string[] {
  const labels = r.stringArray(v, kp);
  labels.forEach((l, i) => {
    if (!isKebabOrSnake(l)) {
      r.problems.add('MANIFEST_INVALID_LABEL', `invalid label ${JSON.stringify(l)}: expected kebab-case or snake_case`, [...kp, i]);
    }
  });
  return labels;
}

/** Reads a `source` value. */
export function readSource(r: Reader, v: unknown, kp: KeyPath): ComponentSource | undefined {
  if (typeof v === 'string') {
    if (v === '') r.problems.add('MANIFEST_INVALID_SOURCE', 'component `source` must not be empty; give the path of a .wasm file', kp);
    return { kind: 'local', path: v };
  }
  if (!isTable(v)) {
    r.typeError(v, 'a path string, `{ url, digest }` or `{ registry, package, version }`', kp);
    return undefined;
  }
  if ('url' in v || 'digest' in v) {
    r.knownKeys(v, ['url', 'digest'], kp);
    const okUrl = r.required(v, 'url', kp);
    const okDigest = r.required(v, 'digest', kp);
    const url = okUrl ? r.string(v['url'], [...kp, 'url']) : undefined;
    const digest = okDigest ? r.string(v['digest'], [...kp, 'digest']) : undefined;
    if (url === undefined || digest === undefined) return undefined;
    checkDigest(r, digest, [...kp, 'digest']);
    if (!/^https?:\/\//i.test(url)) {
      r.problems.add('MANIFEST_INVALID_SOURCE', `invalid source \`url\` ${JSON.stringify(url)}: must be an http:// or https:// URL`, [...kp, 'url']);
    }
    return { kind: 'url', url, digest };
  }
  r.knownKeys(v, ['registry', 'package', 'version'], kp);
  const okPkg = r.required(v, 'package', kp);
  const okVer = r.required(v, 'version', kp);
  const pkg = okPkg ? r.string(v['package'], [...kp, 'package']) : undefined;
  const version = okVer ? r.string(v['version'], [...kp, 'version']) : undefined;
  const registry = r.optString(v, 'registry', kp);
  if (pkg === undefined || version === undefined) return undefined;
  if (!/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*$/.test(pkg)) {
    r.problems.add('MANIFEST_INVALID_SOURCE', `invalid package name ${JSON.stringify(pkg)}: expected \`namespace:name\``, [...kp, 'package']);
  }
  if (!SEMVER.test(version)) {
    const who = kp[0] === 'component' && typeof kp[1] === 'string' ? `Component ${kp[1]}` : `The source at \`${showPath(kp)}\``;
    r.problems.add('MANIFEST_INVALID_SOURCE', `${who} specifies an invalid semantic version (${JSON.stringify(version)}) for its package version; use an exact version such as "1.2.3"`, [...kp, 'version']);
  }
  return registry === undefined ? { kind: 'registry', package: pkg, version } : { kind: 'registry', registry, package: pkg, version };
}

const SEMVER = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

function checkDigest(r: Reader, digest: string, kp: KeyPath): void {
  if (!digest.startsWith('sha256:')) {
    r.problems.add('MANIFEST_INVALID_DIGEST', `invalid \`digest\` ${JSON.stringify(digest)}; must start with 'sha256:'`, kp);
  } else if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    r.problems.add('MANIFEST_INVALID_DIGEST', `invalid \`digest\` ${JSON.stringify(digest)}; must be 'sha256:' followed by 64 lower-case hex digits`, kp);
  }
}

function readFiles(r: Reader, v: unknown, kp: KeyPath): FilesMount[] {
  if (v === undefined) return [];
  const a = r.array(v, kp);
  const out: FilesMount[] = [];
  a?.forEach((item, i) => {
    const ikp = [...kp, i];
    if (typeof item === 'string') out.push({ kind: 'pattern', pattern: item });
    else if (isTable(item)) {
      r.knownKeys(item, ['source', 'destination'], ikp);
      const okS = r.required(item, 'source', ikp);
      const okD = r.required(item, 'destination', ikp);
      const source = okS ? r.string(item['source'], [...ikp, 'source']) : undefined;
      const destination = okD ? r.string(item['destination'], [...ikp, 'destination']) : undefined;
      if (source !== undefined && destination !== undefined) out.push({ kind: 'placement', source, destination });
    } else r.typeError(item, 'a path/glob string or `{ source, destination }`', ikp);
  });
  return out;
}

function readCommands(r: Reader, v: unknown, kp: KeyPath): { commands: string[]; isArray: boolean } | undefined {
  if (typeof v === 'string') return { commands: [v], isArray: false };
  if (Array.isArray(v)) return { commands: r.stringArray(v, kp), isArray: true };
  r.typeError(v, 'a command string or an array of command strings', kp);
  return undefined;
}

function readBuild(r: Reader, v: unknown, kp: KeyPath): BuildConfig | undefined {
  const t = r.table(v, kp);
  if (t === undefined) return undefined;
  r.knownKeys(t, BUILD_KEYS, kp);
  if (!r.required(t, 'command', kp)) return undefined;
  const cmd = readCommands(r, t['command'], [...kp, 'command']);
  if (cmd === undefined) return undefined;
  const b: BuildConfig = { commands: cmd.commands, commandIsArray: cmd.isArray, watch: r.stringArray(t['watch'], [...kp, 'watch']) };
  const workdir = r.optString(t, 'workdir', kp);
  if (workdir !== undefined) {
    if (workdir.startsWith('/') || /^[A-Za-z]:[\\/]/.test(workdir) || workdir.startsWith('\\')) {
      r.problems.add('MANIFEST_INVALID_BUILD', `The workdir specified in the application file must be relative. Got ${JSON.stringify(workdir)}; write it relative to the manifest's directory.`, [...kp, 'workdir']);
    }
    return { ...b, workdir };
  }
  return b;
}

function readProfile(r: Reader, v: unknown, kp: KeyPath): ProfileOverride | undefined {
  const t = r.table(v, kp);
  if (t === undefined) return undefined;
  r.knownKeys(t, PROFILE_KEYS, kp);
  let source: ComponentSource | undefined;
  if (t['source'] !== undefined) source = readSource(r, t['source'], [...kp, 'source']);
  const environment = r.stringMap(t['environment'], [...kp, 'environment']);
  const dependencies = t['dependencies'] === undefined ? {} : readDependencies(r, t['dependencies'], [...kp, 'dependencies']);
  let buildCommands: string[] | undefined;
  let buildCommandIsArray: boolean | undefined;
  if (t['build'] !== undefined) {
    const bt = r.table(t['build'], [...kp, 'build']);
    if (bt !== undefined) {
      r.knownKeys(bt, ['command'], [...kp, 'build']);
      if (r.required(bt, 'command', [...kp, 'build'])) {
        const c = readCommands(r, bt['command'], [...kp, 'build', 'command']);
        if (c !== undefined) {
          buildCommands = c.commands;
          buildCommandIsArray = c.isArray;
        }
      }
    }
  }
  const o: ProfileOverride = { environment, dependencies };
  return {
    ...o,
    ...(source === undefined ? {} : { source }),
    ...(buildCommands === undefined ? {} : { buildCommands, buildCommandIsArray: buildCommandIsArray ?? false }),
  };
}

const DEP_NAME_PLAIN = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;
const DEP_NAME_PACKAGE = /^([a-z][a-z0-9-]*):([a-z][a-z0-9-]*)(\/([a-z][a-z0-9-]*))?(@(.+))?$/;

/** A parsed dependency name: plain kebab, or `ns:pkg[/iface][@version]`. */
export interface DependencyName {
  readonly plain?: string;
  readonly package?: string;
  readonly interface?: string;
  readonly version?: string;
}

/** Parses a dependency name, or returns undefined. */
export function parseDependencyName(name: string): DependencyName | undefined {
  if (DEP_NAME_PLAIN.test(name)) return { plain: name };
  const m = DEP_NAME_PACKAGE.exec(name);
  if (m === null) return undefined;
  const version = m[6];
  if (version !== undefined && !SEMVER.test(version)) return undefined;
  return {
    package: `${m[1]}:${m[2]}`,
    ...(m[4] === undefined ? {} : { interface: m[4] }),
    ...(version === undefined ? {} : { version }),
  };
}

function readDependencies(r: Reader, v: unknown, kp: KeyPath): Record<string, ComponentDependency> {
  const out: Record<string, ComponentDependency> = {};
  const t = r.table(v, kp);
  for (const [name, raw] of Object.entries(t ?? {})) {
    if (parseDependencyName(name) === undefined) {
      r.problems.add(
        'MANIFEST_INVALID_DEPENDENCY',
        `invalid dependency name ${JSON.stringify(name)}: expected a kebab-case name or a package name such as \`ns:pkg\`, \`ns:pkg/iface\` or \`ns:pkg/iface@1.2.3\``,
        [...kp, name],
        'key',
      );
    }
    const d = readDependency(r, raw, [...kp, name], false);
    if (d !== undefined) setKey(out, name, d);
  }
  return out;
}

function readInherit(r: Reader, v: unknown, kp: KeyPath): InheritConfig | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    const keys = r.stringArray(v, kp);
    keys.forEach((k, i) => {
      if (!INHERITABLE.includes(k)) {
        r.problems.add('MANIFEST_INVALID_DEPENDENCY', `unknown \`inherit_configuration\` key ${JSON.stringify(k)}, expected one of ${INHERITABLE.map((x) => `\`${x}\``).join(', ')}`, [...kp, i]);
      }
    });
    return keys;
  }
  r.typeError(v, 'a boolean or an array of configuration keys', kp);
  return undefined;
}

function readDependency(r: Reader, raw: unknown, kp: KeyPath, trigger: boolean): ComponentDependency | undefined {
  if (typeof raw === 'string' && !trigger) {
    if (!/^[\s=<>~^*0-9A-Za-z.,+-]+$/.test(raw)) {
      r.problems.add('MANIFEST_INVALID_DEPENDENCY', `specifies an invalid semantic version requirement (${JSON.stringify(raw)}) for its package version`, kp);
    }
    return { kind: 'version', version: raw };
  }
  const t = r.table(raw, kp);
  if (t === undefined) return undefined;
  const withExport = (base: string[]): string[] => (trigger ? base : [...base, 'export']);
  const inherit = readInherit(r, t['inherit_configuration'], [...kp, 'inherit_configuration']);
  const exp = trigger ? undefined : r.optString(t, 'export', kp);
  const extra = { ...(exp === undefined ? {} : { export: exp }), ...(inherit === undefined ? {} : { inherit }) };
  if ('path' in t) {
    r.knownKeys(t, withExport(['path', 'inherit_configuration']), kp);
    const path = r.string(t['path'], [...kp, 'path']);
    return path === undefined ? undefined : { kind: 'local', path, ...extra };
  }
  if ('url' in t || 'digest' in t) {
    r.knownKeys(t, withExport(['url', 'digest', 'inherit_configuration']), kp);
    const okU = r.required(t, 'url', kp);
    const okD = r.required(t, 'digest', kp);
    const url = okU ? r.string(t['url'], [...kp, 'url']) : undefined;
    const digest = okD ? r.string(t['digest'], [...kp, 'digest']) : undefined;
    if (url === undefined || digest === undefined) return undefined;
    checkDigest(r, digest, [...kp, 'digest']);
    return { kind: 'url', url, digest, ...extra };
  }
  if ('component' in t) {
    r.knownKeys(t, withExport(['component', 'inherit_configuration']), kp);
    const id = r.string(t['component'], [...kp, 'component']);
    if (id === undefined) return undefined;
    const problem = kebabIdProblem(id);
    if (problem !== undefined) {
      r.problems.add('MANIFEST_INVALID_ID', `invalid component reference ${JSON.stringify(id)}: ${problem}`, [...kp, 'component']);
      return undefined;
    }
    return { kind: 'component', component: id, ...extra };
  }
  r.knownKeys(t, withExport(['version', 'registry', 'package', 'inherit_configuration']), kp);
  if (!r.required(t, 'version', kp)) {
    r.problems.add('MANIFEST_INVALID_DEPENDENCY', 'a dependency table needs one of `version`, `path`, `url` + `digest` or `component`', kp, 'key');
    return undefined;
  }
  const version = r.string(t['version'], [...kp, 'version']);
  const registry = r.optString(t, 'registry', kp);
  const pkg = r.optString(t, 'package', kp);
  if (trigger && pkg === undefined) r.required(t, 'package', kp);
  if (version === undefined) return undefined;
  return {
    kind: 'package',
    version,
    ...(registry === undefined ? {} : { registry }),
    ...(pkg === undefined ? {} : { package: pkg }),
    ...extra,
  };
}

/** Whether a value looks like a table (for other modules). */
export { isTable };
