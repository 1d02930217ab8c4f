/**
 * Reads a v1 manifest (`spin_manifest_version = "1"`) and converts it to the v2 model as
 * Spin does: one `[[trigger.<type>]]` per component with id `trigger-<component>`,
 * component ids fixed up (`_` → `-`, lower case), `config` → `variables`,
 * `allowed_http_hosts` converted, and legacy database hosts for components that do not
 * set `allowed_outbound_hosts`.
 */
import { convertAllowedHttpHosts } from './allowed-http-hosts.js';
import { kebabIdProblem, lowerSnakeIdProblem } from './ids.js';
import type { JsonObject } from './locked-app.js';
import type { AppManifest, Component, Trigger, Variable } from './manifest-model.js';
import type { ModelPaths } from './normalize.js';
import { setKey, tomlToJson } from './problems.js';
import type { Table , Reader} from './problems.js';
import { readComponent } from './read-v2.js';

const TOP_KEYS = ['spin_manifest_version', 'spin_version', 'name', 'version', 'description', 'authors', 'trigger', 'variables', 'component'];
const COMPONENT_KEYS = [
  'id',
  'source',
  'trigger',
  'description',
  'config',
  'environment',
  'files',
  'exclude_files',
  'allowed_http_hosts',
  'allowed_outbound_hosts',
  'key_value_stores',
  'sqlite_databases',
  'ai_models',
  'build',
];

/** Reads and converts a v1 document. */
export function readV1(r: Reader, root: Table, paths: ModelPaths): AppManifest {
  r.knownKeys(root, TOP_KEYS, []);
  const name = r.required(root, 'name', []) ? (r.string(root['name'], ['name']) ?? '') : '';
  const manifest: AppManifest = {
    application: {
      name,
      version: r.optString(root, 'version', []) ?? '',
      description: r.optString(root, 'description', []) ?? '',
      authors: r.stringArray(root['authors'], ['authors']),
      triggerGlobalConfigs: {},
    },
    variables: {},
    triggers: {},
    components: {},
  };
  let triggerType = '';
  if (r.required(root, 'trigger', [])) {
    const t = r.table(root['trigger'], ['trigger']);
    if (t !== undefined && r.required(t, 'type', ['trigger'])) {
      triggerType = r.string(t['type'], ['trigger', 'type']) ?? '';
      const cfg = tomlToJson(t) as JsonObject;
      delete cfg['type'];
      setKey(manifest.application.triggerGlobalConfigs, triggerType, cfg);
    }
  }
  if (root['variables'] !== undefined) {
    const vt = r.table(root['variables'], ['variables']);
    for (const [vname, raw] of Object.entries(vt ?? {})) {
      const kp = ['variables', vname];
      const problem = lowerSnakeIdProblem(vname);
      if (problem !== undefined) r.problems.add('MANIFEST_INVALID_ID', `invalid ID \`${vname}\`: ${problem}`, kp, 'key');
      const t = r.table(raw, kp);
      if (t === undefined) continue;
      r.knownKeys(t, ['description', 'required', 'default', 'secret'], kp);
      const v: Variable = { required: false, secret: false };
      const d = r.optString(t, 'description', kp);
      if (d !== undefined) v.description = d;
      if (t['required'] !== undefined) v.required = r.bool(t['required'], [...kp, 'required']) ?? false;
      const def = r.optString(t, 'default', kp);
      if (def !== undefined) v.default = def;
      if (t['secret'] !== undefined) v.secret = r.bool(t['secret'], [...kp, 'secret']) ?? false;
      if (v.required === (v.default !== undefined)) {
        r.problems.add('MANIFEST_VARIABLE_REQUIRED_OR_DEFAULT', `variable ${JSON.stringify(vname)} must be \`required\` OR have a \`default\``, kp, 'key');
      }
      setKey(manifest.variables, vname, v);
    }
  }
  const seen = new Set<string>();
  const duplicates: { id: string; kp: (string | number)[] }[] = [];
  const list = root['component'] === undefined ? [] : (r.array(root['component'], ['component']) ?? []);
  list.forEach((raw, i) => {
    const kp = ['component', i];
    const t = r.table(raw, kp);
    if (t === undefined) return;
    r.knownKeys(t, COMPONENT_KEYS, kp);
    if (!r.required(t, 'id', kp)) return;
    const rawId = r.string(t['id'], [...kp, 'id']);
    if (rawId === undefined) return;
    let id = rawId;
    if (kebabIdProblem(id) !== undefined) {
      id = id.replace(/_/g, '-').toLowerCase();
      const problem = kebabIdProblem(id);
      if (problem !== undefined) {
        r.problems.add('MANIFEST_INVALID_ID', `invalid ID \`${id}\`: ${problem}`, [...kp, 'id']);
        return;
      }
    }
    if (seen.has(id)) {
      duplicates.push({ id, kp: [...kp, 'id'] });
      return;
    }
    seen.add(id);
    // The v2 reader checks the shared fields; v1-only ones are mapped first.
    const shared: Table = {};
    for (const [k, v] of Object.entries(t)) {
      if (k === 'id' || k === 'trigger' || k === 'config' || k === 'allowed_http_hosts' || k === 'allowed_outbound_hosts') continue;
      setKey(shared, k, v);
    }
    if (t['config'] !== undefined) shared['variables'] = t['config'];
    const before = r.problems.list.length;
    const component = readComponent(r, shared, kp);
    // Problems in `config` were found under its v2 name; point them back at `config`.
    for (let pi = before; pi < r.problems.list.length; pi++) {
      const p = r.problems.list[pi] as (typeof r.problems.list)[number];
      if (p.keyPath.length > kp.length && p.keyPath[kp.length] === 'variables') {
        r.problems.list[pi] = { ...p, keyPath: [...kp, 'config', ...p.keyPath.slice(kp.length + 1)], message: p.message.replace('.variables', '.config') };
      }
    }
    const triggerTable = r.required(t, 'trigger', kp) ? r.table(t['trigger'], [...kp, 'trigger']) : undefined;
    if (component === undefined) return;
    const http = r.stringArray(t['allowed_http_hosts'], [...kp, 'allowed_http_hosts']);
    const hasOutbound = t['allowed_outbound_hosts'] !== undefined;
    const outbound = r.stringArray(t['allowed_outbound_hosts'], [...kp, 'allowed_outbound_hosts']);
    const converted = convertAllowedHttpHosts(http, !hasOutbound);
    if (!converted.ok) {
      r.problems.add(
        'MANIFEST_INVALID_ALLOWED_HTTP_HOSTS',
        `One or more allowed_http_hosts entries was invalid:\n${converted.problems.join('\n')}`,
        [...kp, 'allowed_http_hosts'],
      );
    }
    const c: Component = { ...component, allowed_outbound_hosts: [...outbound, ...(converted.ok ? converted.hosts : [])], allowed_http_hosts: [] };
    setKey(manifest.components, id, c);
    setKey(paths.components, id, kp);
    const trigger: Trigger = {
      id: `trigger-${id}`,
      component: { kind: 'reference', id },
      components: {},
      dependencies: {},
      config: triggerTable === undefined ? {} : (tomlToJson(triggerTable) as JsonObject),
    };
    const group = manifest.triggers[triggerType] ?? [];
    group.push(trigger);
    setKey(manifest.triggers, triggerType, group);
    const tp = paths.triggers[triggerType] ?? [];
    tp.push([...kp, 'trigger']);
    setKey(paths.triggers, triggerType, tp);
  });
  for (const d of duplicates) {
    r.problems.add('MANIFEST_DUPLICATE_COMPONENT_ID', `cannot have duplicate component IDs: ${d.id}`, d.kp);
  }
  return manifest;
}

