/**
 * Checks of meaning that Spin makes at load or trigger time: templates and variables,
 * allowed hosts, HTTP routes/executors/static responses, Redis channels, files patterns,
 * dependencies, the deprecated `base`. Runs on a normalised copy, collecting everything.
 */
import { convertAllowedHttpHosts } from './allowed-http-hosts.js';
import { validateAllowedOutboundHosts } from './allowed-hosts.js';
import type { JsonValue } from './locked-app.js';
import type { AppManifest, Component, ComponentDependency } from './manifest-model.js';
import type { ModelPaths } from './normalize.js';
import { closest, describe, isTable, showPath } from './problems.js';
import type { Problems } from './problems.js';
import { parseDependencyName } from './read-v2.js';
import { parseTemplate, templateVariables } from './template.js';
import type { KeyPath } from './toml-location.js';

const HTTP_TRIGGER_KEYS = ['route', 'executor', 'static_response'];

function didYouMean(key: string, options: readonly string[]): string {
  const guess = closest(key, options);
  return guess === undefined ? '' : ` (did you mean \`${guess}\`?)`;
}
const REDIS_TRIGGER_KEYS = ['channel', 'address'];

/** Runs every semantic check; `m` must be normalised (ids filled, inline components hoisted). */
export function validateManifest(m: AppManifest, paths: ModelPaths, problems: Problems, manifestVersion: 1 | 2): void {
  const defaults: Record<string, string | undefined> = {};
  for (const [name, v] of Object.entries(m.variables)) defaults[name] = v.default;
  const known = new Set(Object.keys(m.variables));

  // The deprecated HTTP base.
  const httpGlobal = m.application.triggerGlobalConfigs['http'];
  if (httpGlobal !== undefined && httpGlobal['base'] !== undefined && httpGlobal['base'] !== '/') {
    const kp = manifestVersion === 1 ? ['trigger', 'base'] : ['application', 'trigger', 'http', 'base'];
    problems.add(
      'MANIFEST_DEPRECATED_BASE',
      "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'.",
      kp,
    );
  }
  const redisGlobal = m.application.triggerGlobalConfigs['redis'];
  if (redisGlobal !== undefined && typeof redisGlobal['address'] === 'string') {
    checkTemplate(redisGlobal['address'], known, manifestVersion === 1 ? ['trigger', 'address'] : ['application', 'trigger', 'redis', 'address'], problems);
  }

  for (const [id, c] of Object.entries(m.components)) {
    validateComponent(id, c, paths.components[id] ?? ['component', id], known, defaults, problems, manifestVersion);
  }

  const triggerIds = new Map<string, KeyPath>();
  const routes = new Map<string, string>();
  let triggerCount = 0;
  for (const [type, list] of Object.entries(m.triggers)) {
    list.forEach((t, i) => {
      triggerCount++;
      const kp = paths.triggers[type]?.[i] ?? ['trigger', type, i];
      if (triggerIds.has(t.id)) problems.add('MANIFEST_DUPLICATE_TRIGGER_ID', `duplicate trigger id ${JSON.stringify(t.id)}; trigger ids must be unique`, [...kp, 'id']);
      triggerIds.set(t.id, kp);
      const refs: { id: string; kp: KeyPath }[] = [];
      if (t.component?.kind === 'reference') refs.push({ id: t.component.id, kp: [...kp, 'component'] });
      for (const [role, specs] of Object.entries(t.components)) {
        specs.forEach((s, si) => {
          if (s.kind === 'reference') refs.push({ id: s.id, kp: specs.length > 1 ? [...kp, 'components', role, si] : [...kp, 'components', role] });
        });
      }
      for (const ref of refs) {
        if (!Object.prototype.hasOwnProperty.call(m.components, ref.id)) {
          const ids = Object.keys(m.components);
          problems.add(
            'MANIFEST_UNKNOWN_COMPONENT',
            `trigger ${JSON.stringify(t.id)} refers to component ${JSON.stringify(ref.id)}, which is not defined; ${ids.length === 0 ? 'add a [component.' + ref.id + '] table' : `defined components: ${ids.join(', ')}`}`,
            ref.kp,
          );
        }
      }
      if (type === 'http') {
        validateHttpTrigger(t.id, t.component !== undefined, t.config, kp, problems);
        const route = t.config['route'];
        if (typeof route === 'string') {
          const norm = normalizeRoute(route);
          const prev = routes.get(norm);
          if (prev !== undefined) {
            problems.warn('MANIFEST_DUPLICATE_ROUTE', `${prev}: ${route} (duplicate of ${t.id}); the last one wins`, [...kp, 'route']);
          }
          routes.set(norm, t.id);
          if (norm.startsWith('/.well-known/spin/')) {
            problems.warn('MANIFEST_RESERVED_ROUTE', `route ${JSON.stringify(route)} of trigger ${JSON.stringify(t.id)} is under /.well-known/spin/ and will never be reached`, [...kp, 'route']);
          }
        }
      } else if (type === 'redis') {
        validateRedisTrigger(t.config, kp, known, problems);
      }
    });
  }
  if (triggerCount === 0) problems.warn('MANIFEST_NO_TRIGGERS', 'No triggers in app; add a [[trigger.http]] table', ['trigger']);
}

function checkTemplate(text: string, known: Set<string>, kp: KeyPath, problems: Problems): boolean {
  let names: string[];
  try {
    names = templateVariables(parseTemplate(text));
  } catch (e) {
    problems.add('MANIFEST_INVALID_TEMPLATE', (e as Error).message, kp);
    return false;
  }
  let ok = true;
  for (const n of names) {
    if (!known.has(n)) {
      ok = false;
      problems.add(
        'MANIFEST_UNKNOWN_VARIABLE',
        `invalid variable template ${JSON.stringify(text)}: unknown variable ${JSON.stringify(n)}; declare it under [variables]`,
        kp,
      );
    }
  }
  return ok;
}

function validateComponent(
  id: string,
  c: Component,
  kp: KeyPath,
  known: Set<string>,
  defaults: Record<string, string | undefined>,
  problems: Problems,
  manifestVersion: 1 | 2,
): void {
  const varKey = manifestVersion === 1 ? 'config' : 'variables';
  for (const [name, value] of Object.entries(c.variables)) checkTemplate(value, known, [...kp, varKey, name], problems);

  // allowed_outbound_hosts: syntax, templates (with defaults), unknown variables.
  c.allowed_outbound_hosts.forEach((entry, i) => {
    if (entry.includes('{{')) checkTemplate(entry, known, [...kp, 'allowed_outbound_hosts', i], problems);
  });
  const hostProblems = validateAllowedOutboundHosts(c.allowed_outbound_hosts, defaults);
  for (const p of hostProblems) {
    const index = c.allowed_outbound_hosts.indexOf(p.entry);
    if (p.code === 'MANIFEST_INVALID_ALLOWED_HOST' && /unmatched '\{\{'/.test(p.message)) continue; // reported by checkTemplate
    problems.add(
      'MANIFEST_INVALID_ALLOWED_HOST',
      `\`allowed_outbound_hosts\` is malformed: ${p.message}`,
      index >= 0 && manifestVersion === 2 ? [...kp, 'allowed_outbound_hosts', index] : [...kp, 'allowed_outbound_hosts'],
    );
  }
  if (c.allowed_http_hosts.length > 0) {
    const converted = convertAllowedHttpHosts(c.allowed_http_hosts, false);
    if (!converted.ok) {
      problems.add('MANIFEST_INVALID_ALLOWED_HTTP_HOSTS', `\`allowed_http_hosts\` is malformed: One or more allowed_http_hosts entries was invalid:\n${converted.problems.join('\n')}`, [...kp, 'allowed_http_hosts']);
    } else {
      problems.warn(
        'MANIFEST_DEPRECATED_ALLOWED_HTTP_HOSTS',
        `Use of the deprecated field \`allowed_http_hosts\` - to fix, replace \`allowed_http_hosts\` with \`allowed_outbound_hosts = ${JSON.stringify(converted.hosts)}\``,
        [...kp, 'allowed_http_hosts'],
      );
    }
  }

  // files and exclude_files.
  c.files.forEach((f, i) => {
    const fkp = [...kp, 'files', i];
    if (f.kind === 'pattern') {
      const p = f.pattern;
      if (p === '..' || p.endsWith('/..')) {
        problems.add('MANIFEST_INVALID_FILES', `A file pattern can't end in a parent directory path (..): ${JSON.stringify(p)}. If you want to include a directory, use source-destination form, or a glob pattern ending in **/*.`, fkp);
      } else if (p === '.' || p.endsWith('/.')) {
        problems.add('MANIFEST_INVALID_FILES', `A file pattern can't end in a current directory path (.): ${JSON.stringify(p)}. If you want to include a directory, use source-destination form, or a glob pattern ending in **/*.`, fkp);
      } else if (escapesAppDir(p)) {
        problems.add('MANIFEST_INVALID_FILES', `${p} cannot be mapped because it is outside the application directory. Files must be within the application directory.`, fkp);
      } else if (p === '*' || p === '**/*') {
        problems.warn('MANIFEST_FILES_WHOLE_APP', `A component is including the entire application directory${p === '*' ? '' : ' tree'} as asset files. This is unlikely to be what you want. If this is what you want, use the pattern "./${p}" to avoid this warning.`, fkp);
      }
      const globProblem = globSyntaxProblem(p);
      if (globProblem !== undefined) problems.add('MANIFEST_INVALID_FILES', `invalid file pattern ${JSON.stringify(p)}: ${globProblem}`, fkp);
    } else {
      if (escapesAppDir(f.source)) {
        problems.add('MANIFEST_INVALID_FILES', `${f.source} cannot be mapped because it is outside the application directory. Files must be within the application directory.`, [...fkp, 'source']);
      }
      if (f.destination === '') problems.add('MANIFEST_INVALID_FILES', 'files `destination` must not be empty; use an absolute guest path such as "/static"', [...fkp, 'destination']);
    }
  });
  c.exclude_files.forEach((p, i) => {
    const problem = globSyntaxProblem(p);
    if (problem !== undefined) problems.add('MANIFEST_INVALID_FILES', `Invalid exclude_files glob pattern ${JSON.stringify(p)}: ${problem}`, [...kp, 'exclude_files', i]);
  });

  if (c.build !== undefined && c.build.workdir !== undefined && escapesAppDir(c.build.workdir)) {
    problems.warn('MANIFEST_BUILD_WORKDIR_OUTSIDE', `build workdir ${JSON.stringify(c.build.workdir)} is outside the application directory`, [...kp, 'build', 'workdir']);
  }

  validateDependencies(id, c.dependencies, [...kp, 'dependencies'], problems);
}

function escapesAppDir(p: string): boolean {
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return true;
  let depth = 0;
  for (const seg of p.split(/[\\/]/)) {
    if (seg === '..') depth--;
    else if (seg !== '.' && seg !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/** Returns why a glob is malformed (unclosed `[`), or undefined. */
export function globSyntaxProblem(p: string): string | undefined {
  let i = 0;
  while (i < p.length) {
    const ch = p[i];
    if (ch === '[') {
      const close = p.indexOf(']', i + 2);
      if (close < 0) return "unclosed '[' character class";
      i = close + 1;
      continue;
    }
    if (ch === '*' && p[i + 1] === '*' && p[i + 2] === '*') return "more than two '*' in a row";
    i++;
  }
  return undefined;
}

function validateDependencies(id: string, deps: Record<string, ComponentDependency>, kp: KeyPath, problems: Problems): void {
  const prefix = `component ${JSON.stringify(id)} has invalid dependencies: `;
  const names = Object.keys(deps);
  for (const name of names) {
    const parsed = parseDependencyName(name);
    const d = deps[name] as ComponentDependency;
    if (parsed === undefined) continue;
    if (parsed.plain !== undefined && (d.kind === 'version' || (d.kind === 'package' && d.package === undefined))) {
      problems.add('MANIFEST_INVALID_DEPENDENCY', `${prefix}dependency ${JSON.stringify(name)} must specify a package name`, [...kp, name], 'key');
    }
    if (parsed.package !== undefined && parsed.interface === undefined && (d.kind === 'package' || d.kind === 'local') && d.export !== undefined) {
      problems.add('MANIFEST_INVALID_DEPENDENCY', `${prefix}using an export to satisfy the package dependency ${JSON.stringify(name)} is not currently permitted`, [...kp, name, 'export']);
    }
  }
  for (let a = 0; a < names.length; a++) {
    for (let b = a + 1; b < names.length; b++) {
      const x = parseDependencyName(names[a] as string);
      const y = parseDependencyName(names[b] as string);
      if (x?.package === undefined || y?.package === undefined || x.package !== y.package) continue;
      if (x.version !== undefined && y.version !== undefined && compatVersion(x.version) !== compatVersion(y.version)) continue;
      if (x.interface !== undefined && y.interface !== undefined && x.interface !== y.interface) continue;
      problems.add('MANIFEST_INVALID_DEPENDENCY', `${prefix}${JSON.stringify(names[a])} dependency conflicts with ${JSON.stringify(names[b])}`, [...kp, names[b] as string], 'key');
    }
  }
}

function compatVersion(v: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)(-[^+]*)?/.exec(v);
  if (m === null) return v;
  if (m[4] !== undefined) return m[0];
  if (m[1] !== '0') return `${m[1]}.0.0`;
  if (m[2] !== '0') return `0.${m[2]}.0`;
  return m[0];
}

/** Route text as the router sees it: absolute, one trailing `/` removed. */
export function normalizeRoute(route: string): string {
  let r = route.startsWith('/') ? route : `/${route}`;
  if (r.length > 1 && r.endsWith('/')) r = r.slice(0, -1);
  return r;
}

/** Why a route string is invalid, or undefined. */
export function routeProblem(route: string): string | undefined {
  if (/[\s?#]/.test(route)) return 'routes must not contain whitespace, `?` or `#`';
  const r = normalizeRoute(route);
  const segs = r.split('/').slice(1);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    const last = i === segs.length - 1;
    if (s === '...' || s === '*') {
      if (!last) return `the wildcard \`${s}\` may only be the last segment (write \`/prefix/...\`)`;
      continue;
    }
    if (s.includes('...')) return 'a trailing wildcard is written as a whole segment: `/prefix/...`';
    if (s.includes('*')) return '`*` is only allowed as a whole last segment; use `/prefix/...` for a trailing wildcard';
    if (s.startsWith(':')) {
      if (!/^:[A-Za-z0-9_-]+$/.test(s)) return `parameter segment ${JSON.stringify(s)} needs a name of letters, digits, '-' or '_' (e.g. \`/users/:id\`)`;
      continue;
    }
    if (s === '' && !(i === 0 && segs.length === 1)) return 'routes must not contain empty segments (`//`)';
  }
  return undefined;
}

function validateHttpTrigger(id: string, hasComponent: boolean, config: Record<string, JsonValue>, kp: KeyPath, problems: Problems): void {
  for (const k of Object.keys(config)) {
    if (!HTTP_TRIGGER_KEYS.includes(k)) {
      problems.add(
        'MANIFEST_UNKNOWN_FIELD',
        `unknown field \`${k}\` in HTTP trigger ${JSON.stringify(id)}${didYouMean(k, HTTP_TRIGGER_KEYS)}, expected one of \`id\`, \`component\`, \`components\`, \`dependencies\`, ${HTTP_TRIGGER_KEYS.map((x) => `\`${x}\``).join(', ')}`,
        [...kp, k],
        'key',
      );
    }
  }
  const route = config['route'];
  if (route === undefined) {
    problems.add('MANIFEST_MISSING_FIELD', `missing field \`route\` in HTTP trigger ${JSON.stringify(id)}; add e.g. \`route = "/..."\``, kp, 'key');
  } else if (typeof route === 'string') {
    const p = routeProblem(route);
    if (p !== undefined) problems.add('MANIFEST_INVALID_ROUTE', `invalid route ${JSON.stringify(route)} in trigger ${JSON.stringify(id)}: ${p}`, [...kp, 'route']);
  } else if (isTable(route)) {
    const keys = Object.keys(route);
    if (route['private'] === false) {
      problems.add('MANIFEST_INVALID_ROUTE', `route must be a string pattern or '{ private = true }': '${id}' has { private = false }`, [...kp, 'route']);
    } else if (route['private'] !== true || keys.length !== 1) {
      problems.add('MANIFEST_INVALID_ROUTE', `route must be a string pattern or '{ private = true }': '${id}' has ${JSON.stringify(route)}`, [...kp, 'route']);
    }
  } else {
    problems.add('MANIFEST_INVALID_ROUTE', `route must be a string pattern or '{ private = true }': '${id}' has ${describe(route)}`, [...kp, 'route']);
  }

  const executor = config['executor'];
  if (executor !== undefined) {
    if (!isTable(executor)) {
      problems.add('MANIFEST_INVALID_EXECUTOR', `invalid executor in trigger ${JSON.stringify(id)}: expected a table such as \`{ type = "wagi" }\`, got ${describe(executor)}`, [...kp, 'executor']);
    } else {
      const type = executor['type'];
      if (type === undefined) {
        problems.add('MANIFEST_INVALID_EXECUTOR', `missing field \`type\` in the executor of trigger ${JSON.stringify(id)}; expected "http", "spin" or "wagi"`, [...kp, 'executor']);
      } else if (type === 'http' || type === 'spin') {
        for (const k of Object.keys(executor)) {
          if (k !== 'type') problems.add('MANIFEST_UNKNOWN_FIELD', `unknown field \`${k}\` in the ${type} executor of trigger ${JSON.stringify(id)}, expected one of \`type\``, [...kp, 'executor', k], 'key');
        }
      } else if (type === 'wagi') {
        for (const k of Object.keys(executor)) {
          if (!['type', 'argv', 'entrypoint'].includes(k)) {
            problems.add('MANIFEST_UNKNOWN_FIELD', `unknown field \`${k}\` in the wagi executor of trigger ${JSON.stringify(id)}, expected one of \`type\`, \`argv\`, \`entrypoint\``, [...kp, 'executor', k], 'key');
          }
        }
        if (executor['argv'] !== undefined && typeof executor['argv'] !== 'string') {
          problems.add('MANIFEST_INVALID_EXECUTOR', `wagi \`argv\` of trigger ${JSON.stringify(id)} must be a string such as "\${SCRIPT_NAME} \${ARGS}"`, [...kp, 'executor', 'argv']);
        }
        const ep = executor['entrypoint'];
        if (ep !== undefined && ep !== '_start') {
          problems.warn('MANIFEST_WAGI_ENTRYPOINT', `Wagi component in trigger '${id}' cannot use deprecated 'entrypoint' field (only "_start" runs)`, [...kp, 'executor', 'entrypoint']);
        }
      } else {
        problems.add('MANIFEST_INVALID_EXECUTOR', `unknown executor type ${JSON.stringify(type)} in trigger ${JSON.stringify(id)}, expected one of "http", "spin", "wagi"`, [...kp, 'executor', 'type']);
      }
    }
  }

  const sr = config['static_response'];
  if (sr !== undefined) {
    if (!isTable(sr)) {
      problems.add('MANIFEST_INVALID_STATIC_RESPONSE', `\`static_response\` of trigger ${JSON.stringify(id)} must be a table like { status_code = 200, body = "..." }`, [...kp, 'static_response']);
    } else {
      for (const k of Object.keys(sr)) {
        if (!['status_code', 'headers', 'body'].includes(k)) {
          problems.add('MANIFEST_UNKNOWN_FIELD', `unknown field \`${k}\` in \`static_response\`, expected one of \`status_code\`, \`headers\`, \`body\``, [...kp, 'static_response', k], 'key');
        }
      }
      const sc = sr['status_code'];
      if (sc !== undefined && (typeof sc !== 'number' || !Number.isInteger(sc) || sc < 100 || sc > 999)) {
        problems.add('MANIFEST_INVALID_STATIC_RESPONSE', `\`static_response.status_code\` of trigger ${JSON.stringify(id)} must be an HTTP status between 100 and 999, got ${describe(sc)}`, [...kp, 'static_response', 'status_code']);
      }
      const headers = sr['headers'];
      if (headers !== undefined) {
        if (!isTable(headers)) problems.add('MANIFEST_INVALID_STATIC_RESPONSE', '`static_response.headers` must be a table of header name = value', [...kp, 'static_response', 'headers']);
        else {
          for (const [h, v] of Object.entries(headers)) {
            if (typeof v !== 'string') problems.add('MANIFEST_INVALID_STATIC_RESPONSE', `header ${JSON.stringify(h)} in \`static_response.headers\` must be a string`, [...kp, 'static_response', 'headers', h]);
            if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h)) problems.add('MANIFEST_INVALID_STATIC_RESPONSE', `${JSON.stringify(h)} is not a valid HTTP header name`, [...kp, 'static_response', 'headers', h], 'key');
          }
        }
      }
      if (sr['body'] !== undefined && typeof sr['body'] !== 'string') {
        problems.add('MANIFEST_INVALID_STATIC_RESPONSE', '`static_response.body` must be a string', [...kp, 'static_response', 'body']);
      }
    }
  }
  // A `component` that was written but refused (a bad id, a wrong type) is already reported with
  // its real problem; saying the trigger has neither would send the reader the wrong way.
  const componentRefused = !hasComponent && problems.list.some((p) => p.keyPath.length > kp.length && p.keyPath[kp.length] === 'component' && kp.every((k, i) => p.keyPath[i] === k));
  if (hasComponent === (sr !== undefined) && !componentRefused) {
    problems.add(
      'MANIFEST_TRIGGER_COMPONENT_OR_STATIC_RESPONSE',
      `Triggers must specify either component or static_response - ${id} has ${hasComponent ? 'both' : 'neither'}`,
      kp,
      'key',
    );
  }
}

function validateRedisTrigger(config: Record<string, JsonValue>, kp: KeyPath, known: Set<string>, problems: Problems): void {
  for (const k of Object.keys(config)) {
    if (!REDIS_TRIGGER_KEYS.includes(k)) {
      problems.add('MANIFEST_UNKNOWN_FIELD', `unknown field \`${k}\` in Redis trigger, expected one of \`id\`, \`component\`, \`channel\`, \`address\``, [...kp, k], 'key');
    }
  }
  const channel = config['channel'];
  if (channel === undefined) problems.add('MANIFEST_MISSING_FIELD', `missing field \`channel\` in \`${showPath(kp)}\``, kp, 'key');
  else if (typeof channel !== 'string') problems.add('MANIFEST_INVALID_TYPE', `invalid type: ${describe(channel)}, expected a string`, [...kp, 'channel']);
  else checkTemplate(channel, known, [...kp, 'channel'], problems);
  const address = config['address'];
  if (address !== undefined) {
    if (typeof address !== 'string') problems.add('MANIFEST_INVALID_TYPE', `invalid type: ${describe(address)}, expected a string`, [...kp, 'address']);
    else checkTemplate(address, known, [...kp, 'address'], problems);
  }
}
