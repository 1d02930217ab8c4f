/**
 * Normalisation before locking, as Spin does it: trigger ids filled in, inline components
 * hoisted into `components`, profile overrides applied, dependency inheritance settled
 * and `{ component = "..." }` dependencies replaced by that component's source.
 */
import { kebabIdProblem } from './ids.js';
import type { AppManifest, Component, ComponentDependency, ComponentSource, ComponentSpec, Trigger, TriggerDependency } from './manifest-model.js';
import { setKey } from './problems.js';
import type { Problem } from './problems.js';
import type { KeyPath } from './toml-location.js';

/** Where each component and trigger was written, for error locations. */
export interface ModelPaths {
  components: Record<string, KeyPath>;
  triggers: Record<string, KeyPath[]>;
}

/**
 * Copy of the parts of the model that normalisation changes (trigger ids and component
 * specs, the component map, component build/source/environment/dependencies), so the
 * caller's manifest is never mutated. Cheaper than a deep clone of everything.
 */
export function cloneManifest(m: AppManifest): AppManifest {
  const components: Record<string, Component> = {};
  for (const [id, c] of Object.entries(m.components)) setKey(components, id, cloneComponent(c));
  const triggers: Record<string, Trigger[]> = {};
  for (const [type, list] of Object.entries(m.triggers)) {
    setKey(
      triggers,
      type,
      list.map((t) => {
        const copy: Trigger = { ...t, components: {}, dependencies: {} };
        if (t.component !== undefined) copy.component = cloneSpec(t.component);
        for (const [role, specs] of Object.entries(t.components)) setKey(copy.components, role, specs.map(cloneSpec));
        for (const [role, deps] of Object.entries(t.dependencies)) setKey(copy.dependencies, role, [...deps]);
        return copy;
      }),
    );
  }
  return { application: m.application, variables: m.variables, triggers, components };
}

function cloneSpec(s: ComponentSpec): ComponentSpec {
  return s.kind === 'inline' ? { kind: 'inline', component: cloneComponent(s.component) } : s;
}

function cloneComponent(c: Component): Component {
  return { ...c, environment: { ...c.environment }, dependencies: { ...c.dependencies } };
}

/** Fills trigger ids: `<component>-<type>-trigger`, else `<type>-trigger<N>`. */
export function normalizeTriggerIds(m: AppManifest): void {
  const ids = new Set<string>();
  for (const list of Object.values(m.triggers)) for (const t of list) ids.add(t.id);
  for (const [type, list] of Object.entries(m.triggers)) {
    let counter = 1;
    for (const t of list) {
      if (t.id !== '') continue;
      if (t.component?.kind === 'reference') {
        const candidate = `${t.component.id}-${type}-trigger`;
        if (!ids.has(candidate)) {
          t.id = candidate;
          ids.add(candidate);
          continue;
        }
      }
      while (ids.has(`${type}-trigger${counter}`)) counter++;
      t.id = `${type}-trigger${counter}`;
      ids.add(t.id);
    }
  }
}

/** Moves inline components into `components` (`<trigger id>-component` or `inline-component<N>`). */
export function hoistInlineComponents(m: AppManifest, paths?: ModelPaths): void {
  for (const [type, list] of Object.entries(m.triggers)) {
    list.forEach((t, ti) => {
      const slots: { get: () => ComponentSpec; set: (s: ComponentSpec) => void; kp: KeyPath }[] = [];
      const base = paths?.triggers[type]?.[ti] ?? ['trigger', type, ti];
      if (t.component !== undefined) {
        slots.push({ get: () => t.component as ComponentSpec, set: (s) => (t.component = s), kp: [...base, 'component'] });
      }
      for (const [role, specs] of Object.entries(t.components)) {
        specs.forEach((_, i) => slots.push({ get: () => specs[i] as ComponentSpec, set: (s) => (specs[i] = s), kp: [...base, 'components', role, i] }));
      }
      const multiple = slots.length > 1;
      let counter = 1;
      for (const slot of slots) {
        const spec = slot.get();
        if (spec.kind !== 'inline') continue;
        let id = `${t.id}-component`;
        if (multiple || kebabIdProblem(id) !== undefined || Object.prototype.hasOwnProperty.call(m.components, id)) {
          while (Object.prototype.hasOwnProperty.call(m.components, `inline-component${counter}`)) counter++;
          id = `inline-component${counter}`;
        }
        setKey(m.components, id, spec.component);
        if (paths !== undefined) setKey(paths.components, id, slot.kp);
        slot.set({ kind: 'reference', id });
      }
    });
  }
}

/** Applies `[component.x.profile.<profile>]` overrides. */
export function applyProfile(m: AppManifest, profile: string | undefined): void {
  if (profile === undefined) return;
  for (const c of Object.values(m.components)) {
    const o = c.profile[profile];
    if (o === undefined) continue;
    if (o.buildCommands !== undefined) {
      c.build = c.build === undefined
        ? { commands: o.buildCommands, commandIsArray: o.buildCommandIsArray ?? false, watch: [] }
        : { ...c.build, commands: o.buildCommands, commandIsArray: o.buildCommandIsArray ?? false };
    }
    if (o.source !== undefined) c.source = o.source;
    for (const [k, v] of Object.entries(o.environment)) setKey(c.environment, k, v);
    for (const [k, v] of Object.entries(o.dependencies)) setKey(c.dependencies, k, v);
  }
}

/** Whether some component defines the profile. */
export function isProfileDefined(m: AppManifest, profile: string): boolean {
  return Object.values(m.components).some((c) => Object.prototype.hasOwnProperty.call(c.profile, profile));
}

/**
 * Settles `dependencies_inherit_configuration` into each dependency and replaces
 * `{ component = ... }` dependencies with the component's source. Returns problems.
 */
export function normalizeDependencies(m: AppManifest, paths?: ModelPaths): Problem[] {
  const problems: Problem[] = [];
  const original = { ...m.components };
  for (const [id, c] of Object.entries(m.components)) {
    const kp = paths?.components[id] ?? ['component', id];
    const perDep = Object.values(c.dependencies).some((d) => d.kind !== 'version' && d.inherit !== undefined);
    if (c.dependencies_inherit_configuration !== undefined && perDep) {
      problems.push(
        { code: 'MANIFEST_INVALID_DEPENDENCY', message: `Component \`${id}\` specifies both \`dependencies_inherit_configuration\` and per-dependency \`inherit_configuration\`. These are mutually exclusive; use one or the other.`, keyPath: [...kp, 'dependencies_inherit_configuration'], at: 'value' },
      );
    } else if (c.dependencies_inherit_configuration === true) {
      for (const [name, d] of Object.entries(c.dependencies)) {
        if (d.kind !== 'version') setKey(c.dependencies, name, { ...d, inherit: true });
      }
    }
    delete c.dependencies_inherit_configuration;
    for (const [name, d] of Object.entries(c.dependencies)) {
      if (d.kind !== 'component') continue;
      const target = original[d.component];
      if (target === undefined) {
        problems.push({ code: 'MANIFEST_INVALID_DEPENDENCY', message: `component "${id}" has invalid dependencies: dependency ID ${d.component} does not exist`, keyPath: [...kp, 'dependencies', name], at: 'value' });
        continue;
      }
      setKey(c.dependencies, name, sourceToDependency(target.source, d.export, d.inherit));
    }
  }
  for (const [type, list] of Object.entries(m.triggers)) {
    list.forEach((t, ti) => {
      for (const [role, deps] of Object.entries(t.dependencies)) {
        deps.forEach((d, i) => {
          if (d.kind !== 'component') return;
          const target = original[d.component];
          if (target === undefined) {
            const kp = [...(paths?.triggers[type]?.[ti] ?? ['trigger', type, ti]), 'dependencies', role, i];
            problems.push({ code: 'MANIFEST_INVALID_DEPENDENCY', message: `trigger "${t.id}" has invalid dependencies: dependency ID ${d.component} does not exist`, keyPath: kp, at: 'value' });
            return;
          }
          const replaced = sourceToDependency(target.source, undefined, d.inherit);
          deps[i] = replaced as TriggerDependency;
        });
      }
    });
  }
  return problems;
}

function sourceToDependency(source: ComponentSource, exp: string | undefined, inherit: boolean | readonly string[] | undefined): ComponentDependency {
  const extra = { ...(exp === undefined ? {} : { export: exp }), ...(inherit === undefined ? {} : { inherit }) };
  switch (source.kind) {
    case 'local':
      return { kind: 'local', path: source.path, ...extra };
    case 'url':
      return { kind: 'url', url: source.url, digest: source.digest, ...extra };
    case 'registry':
      return { kind: 'package', version: source.version, package: source.package, ...(source.registry === undefined ? {} : { registry: source.registry }), ...extra };
  }
}

/** Full normalisation (on a copy). */
export function normalizeManifest(m: AppManifest, profile?: string, paths?: ModelPaths): { manifest: AppManifest; problems: Problem[] } {
  const copy = cloneManifest(m);
  normalizeTriggerIds(copy);
  hoistInlineComponents(copy, paths);
  applyProfile(copy, profile);
  const problems = normalizeDependencies(copy, paths);
  return { manifest: copy, problems };
}

/** Re-exported for the trigger model. */
export type { Trigger, Component };
