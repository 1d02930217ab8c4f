/**
 * Writes a manifest model as v2 TOML: used to upgrade a v1 `spin.toml` (`spinel doctor
 * --fix`). The result means the same app; converted `allowed_http_hosts` and v1's implicit
 * database hosts are written out explicitly.
 */
import { stringify } from 'smol-toml';
import type { AppManifest, Component, ComponentDependency, ComponentSource, ComponentSpec, Trigger } from './manifest-model.js';
import { setKey } from './problems.js';

type TomlObject = Record<string, unknown>;

/** Serialises the model as a v2 `spin.toml` text. */
export function manifestToV2Toml(m: AppManifest): string {
  const app: TomlObject = { name: m.application.name };
  if (m.application.version !== '') app['version'] = m.application.version;
  if (m.application.description !== '') app['description'] = m.application.description;
  if (m.application.authors.length > 0) app['authors'] = [...m.application.authors];
  const globals: TomlObject = {};
  for (const [type, cfg] of Object.entries(m.application.triggerGlobalConfigs)) {
    if (Object.keys(cfg).length > 0) setKey<unknown>(globals, type, cfg);
  }
  if (Object.keys(globals).length > 0) app['trigger'] = globals;

  const doc: TomlObject = { spin_manifest_version: 2, application: app };
  if (Object.keys(m.variables).length > 0) {
    const vars: TomlObject = {};
    for (const [name, v] of Object.entries(m.variables)) {
      const o: TomlObject = {};
      if (v.description !== undefined) o['description'] = v.description;
      if (v.required) o['required'] = true;
      if (v.default !== undefined) o['default'] = v.default;
      if (v.secret) o['secret'] = true;
      setKey<unknown>(vars, name, o);
    }
    doc['variables'] = vars;
  }
  const triggers: TomlObject = {};
  for (const [type, list] of Object.entries(m.triggers)) setKey<unknown>(triggers, type, list.map(triggerToToml));
  doc['trigger'] = triggers;
  if (Object.keys(m.components).length > 0) {
    const comps: TomlObject = {};
    for (const [id, c] of Object.entries(m.components)) setKey<unknown>(comps, id, componentToToml(c));
    doc['component'] = comps;
  }
  return `${stringify(doc).trimEnd()}\n`;
}

function triggerToToml(t: Trigger): TomlObject {
  const o: TomlObject = {};
  // v1 ids (`trigger-<component>`) are kept so the locked app does not change.
  if (t.id !== '') o['id'] = t.id;
  if (t.component !== undefined) o['component'] = specToToml(t.component);
  if (Object.keys(t.components).length > 0) {
    const cs: TomlObject = {};
    for (const [role, specs] of Object.entries(t.components)) setKey<unknown>(cs, role, specs.length === 1 ? specToToml(specs[0] as ComponentSpec) : specs.map(specToToml));
    o['components'] = cs;
  }
  for (const [k, v] of Object.entries(t.config)) setKey<unknown>(o, k, v);
  return o;
}

function specToToml(s: ComponentSpec): unknown {
  return s.kind === 'reference' ? s.id : componentToToml(s.component);
}

function sourceToToml(s: ComponentSource): unknown {
  if (s.kind === 'local') return s.path;
  if (s.kind === 'url') return { url: s.url, digest: s.digest };
  return { ...(s.registry === undefined ? {} : { registry: s.registry }), package: s.package, version: s.version };
}

function dependencyToToml(d: ComponentDependency): unknown {
  if (d.kind === 'version') return d.version;
  const o: TomlObject = {};
  if (d.kind === 'package') {
    o['version'] = d.version;
    if (d.registry !== undefined) o['registry'] = d.registry;
    if (d.package !== undefined) o['package'] = d.package;
  } else if (d.kind === 'local') o['path'] = d.path;
  else if (d.kind === 'url') {
    o['url'] = d.url;
    o['digest'] = d.digest;
  } else o['component'] = d.component;
  if (d.export !== undefined) o['export'] = d.export;
  if (d.inherit !== undefined) o['inherit_configuration'] = typeof d.inherit === 'boolean' ? d.inherit : [...d.inherit];
  return o;
}

function componentToToml(c: Component): TomlObject {
  const o: TomlObject = { source: sourceToToml(c.source) };
  if (c.description !== '') o['description'] = c.description;
  if (Object.keys(c.variables).length > 0) o['variables'] = { ...c.variables };
  if (Object.keys(c.environment).length > 0) o['environment'] = { ...c.environment };
  if (c.files.length > 0) o['files'] = c.files.map((f) => (f.kind === 'pattern' ? f.pattern : { source: f.source, destination: f.destination }));
  if (c.exclude_files.length > 0) o['exclude_files'] = [...c.exclude_files];
  if (c.allowed_outbound_hosts.length > 0) o['allowed_outbound_hosts'] = [...c.allowed_outbound_hosts];
  if (c.allowed_http_hosts.length > 0) o['allowed_http_hosts'] = [...c.allowed_http_hosts];
  if (c.key_value_stores.length > 0) o['key_value_stores'] = [...c.key_value_stores];
  if (c.sqlite_databases.length > 0) o['sqlite_databases'] = [...c.sqlite_databases];
  if (c.ai_models.length > 0) o['ai_models'] = [...c.ai_models];
  if (c.dependencies_inherit_configuration !== undefined) o['dependencies_inherit_configuration'] = c.dependencies_inherit_configuration;
  if (c.build !== undefined) {
    const b: TomlObject = { command: c.build.commandIsArray ? [...c.build.commands] : (c.build.commands[0] ?? '') };
    if (c.build.workdir !== undefined) b['workdir'] = c.build.workdir;
    if (c.build.watch.length > 0) b['watch'] = [...c.build.watch];
    o['build'] = b;
  }
  if (Object.keys(c.dependencies).length > 0) {
    const deps: TomlObject = {};
    for (const [name, d] of Object.entries(c.dependencies)) setKey<unknown>(deps, name, dependencyToToml(d));
    o['dependencies'] = deps;
  }
  if (Object.keys(c.profile).length > 0) {
    const profiles: TomlObject = {};
    for (const [name, p] of Object.entries(c.profile)) {
      const po: TomlObject = {};
      if (p.source !== undefined) po['source'] = sourceToToml(p.source);
      if (Object.keys(p.environment).length > 0) po['environment'] = { ...p.environment };
      if (Object.keys(p.dependencies).length > 0) {
        const deps: TomlObject = {};
        for (const [n, d] of Object.entries(p.dependencies)) setKey<unknown>(deps, n, dependencyToToml(d));
        po['dependencies'] = deps;
      }
      if (p.buildCommands !== undefined) po['build'] = { command: p.buildCommandIsArray === true ? [...p.buildCommands] : (p.buildCommands[0] ?? '') };
      setKey<unknown>(profiles, name, po);
    }
    o['profile'] = profiles;
  }
  return o;
}
