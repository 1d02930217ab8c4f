/**
 * Spin's HTTP route patterns and their precedence (Spin's `crates/routes/src/lib.rs`): exact routes,
 * `:name` single-segment captures, a trailing wildcard written `/...` (or `/*`), and
 * private routes that are never routable. Pure: no I/O.
 */
import { RouteError } from '../errors.js';

/** The prefix Spin reserves for its own endpoints; components are never reached under it. */
export const WELL_KNOWN_PREFIX = '/.well-known/spin/';

/** A route as a trigger declares it: a pattern, or `{ private: true }`. */
export type RouteConfig = string | { private: boolean };

type Group = { kind: 'exact'; text: string } | { kind: 'param'; name: string } | { kind: 'wildcard' };

/** A parsed route pattern. */
export interface ParsedRoute {
  /** The route as written in the manifest (e.g. `/foo/...`). */
  raw: string;
  /** Made absolute, one trailing `/` stripped, base applied (`/` → ``). */
  based: string;
  /** True for a trailing wildcard (`/...` or `/*`). */
  wildcard: boolean;
  /** `based` without its trailing wildcard: what Spin prints and calls the component route. */
  prefix: string;
  groups: readonly Group[];
}

/** Parses a route pattern the way Spin's router does (absolute, one trailing `/` stripped).
 * @throws {RouteError} `RUNTIME_HTTP_INVALID_ROUTE` for a wildcard that is not last or an empty `:` name. */
export function parseRoute(raw: string, base = '/'): ParsedRoute {
  const based = stripOneSlash(base) + stripOneSlash(raw.startsWith('/') ? raw : `/${raw}`);
  let body = based;
  let wildcard = false;
  let prefix = based;
  if (based.endsWith('/...')) {
    prefix = based.slice(0, -4);
    body = `${prefix}/*`;
    wildcard = true;
  } else if (based.endsWith('/*')) {
    prefix = based.slice(0, -2);
    wildcard = true;
  }
  const groups: Group[] = [];
  if (body !== '') {
    const parts = body.slice(1).split('/');
    parts.forEach((part, i) => {
      if (part === '*' || part === '...') {
        if (i !== parts.length - 1) {
          throw new RouteError('RUNTIME_HTTP_INVALID_ROUTE', `Route '${raw}' has a wildcard before its end; a wildcard (/...) may only end a route.`);
        }
        groups.push({ kind: 'wildcard' });
      } else if (part.startsWith(':')) {
        if (part.length === 1) {
          throw new RouteError('RUNTIME_HTTP_INVALID_ROUTE', `Route '${raw}' has a ':' segment without a name; write ':name'.`);
        }
        groups.push({ kind: 'param', name: part.slice(1) });
      } else {
        groups.push({ kind: 'exact', text: part });
      }
    });
  }
  return { raw, based, wildcard, prefix, groups };
}

function stripOneSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** One routable entry: who answers (`id`: a component id, or a trigger id for static responses). */
export interface RouteEntry<T> {
  id: string;
  route: RouteConfig;
  value: T;
}

/** A route that was declared more than once; the later declaration wins. */
export interface DuplicateRoute {
  route: string;
  replacedId: string;
  effectiveId: string;
}

/** The result of routing a path. */
export interface RouteMatch<T> {
  id: string;
  value: T;
  route: ParsedRoute;
  /** The trailing-wildcard capture with Spin's trailing-slash rule; `''` for exact routes. */
  pathInfo: string;
  /** `:name` captures in route order. */
  params: Array<[string, string]>;
}

/** A route as listed at start-up. */
export interface ListedRoute {
  id: string;
  /** The path (for wildcards, the prefix before `/...`). */
  path: string;
  wildcard: boolean;
}

interface Compiled<T> {
  id: string;
  value: T;
  route: ParsedRoute;
}

/**
 * Spin's router: exact beats `:name` beats trailing wildcard, compared segment by
 * segment, so the longest literal prefix wins regardless of manifest order; private
 * routes are left out; a duplicated route (as written) keeps its last declaration.
 */
export class Router<T> {
  readonly duplicates: readonly DuplicateRoute[];
  readonly #entries: Array<Compiled<T>>;

  private constructor(entries: Array<Compiled<T>>, duplicates: DuplicateRoute[]) {
    this.#entries = entries;
    this.duplicates = duplicates;
  }

  /** Builds a router from trigger routes in manifest order.
   * @throws {RouteError} `RUNTIME_HTTP_INVALID_ROUTE` for `{ private = false }` or a malformed pattern. */
  static build<T>(entries: Iterable<RouteEntry<T>>, base = '/'): Router<T> {
    const byRaw = new Map<string, Compiled<T>>();
    const duplicates: DuplicateRoute[] = [];
    for (const entry of entries) {
      if (typeof entry.route !== 'string') {
        if (entry.route.private === true) continue;
        throw new RouteError(
          'RUNTIME_HTTP_INVALID_ROUTE',
          `route must be a string pattern or '{ private = true }': component '${entry.id}' has { private = false }`,
        );
      }
      const compiled: Compiled<T> = { id: entry.id, value: entry.value, route: parseRoute(entry.route, base) };
      const previous = byRaw.get(entry.route);
      if (previous !== undefined) {
        duplicates.push({ route: previous.route.based === '' ? '/' : previous.route.based, replacedId: previous.id, effectiveId: entry.id });
      }
      // Map.set on an existing key keeps the key's first position, as Spin's IndexMap does.
      byRaw.set(entry.route, compiled);
    }
    return new Router([...byRaw.values()], duplicates);
  }

  /** Routes in declaration order, as Spin lists them at start-up. */
  routes(): ListedRoute[] {
    return this.#entries.map((e) => ({ id: e.id, path: e.route.prefix, wildcard: e.route.wildcard }));
  }

  /** True when some route lies under `/.well-known/spin/` (it will never be reached). */
  containsReservedRoute(): boolean {
    return this.#entries.some((e) => e.route.based.startsWith(WELL_KNOWN_PREFIX));
  }

  /** The best match for a request path (without query), or `undefined` (→ 404). */
  route(path: string): RouteMatch<T> | undefined {
    const parts = (path.startsWith('/') ? path.slice(1) : path).split('/');
    let best: { entry: Compiled<T>; match: Omit<RouteMatch<T>, 'id' | 'value' | 'route'> } | undefined;
    for (const entry of this.#entries) {
      const match = matchGroups(entry.route.groups, parts, path.endsWith('/'));
      if (match === undefined) continue;
      if (best === undefined || compareSpecificity(entry.route.groups, best.entry.route.groups) <= 0) {
        best = { entry, match };
      }
    }
    if (best === undefined) return undefined;
    return { id: best.entry.id, value: best.entry.value, route: best.entry.route, ...best.match };
  }
}

function matchGroups(
  groups: readonly Group[],
  parts: string[],
  trailingSlash: boolean,
): { pathInfo: string; params: Array<[string, string]> } | undefined {
  const last = groups[groups.length - 1];
  const params: Array<[string, string]> = [];
  if (last?.kind === 'wildcard') {
    const fixed = groups.length - 1;
    if (parts.length < fixed) return undefined;
    for (let i = 0; i < fixed; i++) {
      if (!matchOne(groups[i] as Group, parts[i] as string, params)) return undefined;
    }
    let rest = parts.slice(fixed).join('/');
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
    // Spin keeps the trailing slash in path-info although its router does not capture it.
    const pathInfo = rest === '' ? (trailingSlash ? '/' : '') : trailingSlash ? `/${rest}/` : `/${rest}`;
    return { pathInfo, params };
  }
  // A single trailing slash is ignored for exact and `:name` routes.
  const effective = parts.length > 0 && parts[parts.length - 1] === '' ? parts.slice(0, -1) : parts;
  if (effective.length !== groups.length) return undefined;
  for (let i = 0; i < groups.length; i++) {
    if (!matchOne(groups[i] as Group, effective[i] as string, params)) return undefined;
  }
  return { pathInfo: '', params };
}

function matchOne(group: Group, part: string, params: Array<[string, string]>): boolean {
  if (group.kind === 'exact') return group.text === part;
  if (group.kind === 'param') {
    if (part === '') return false;
    params.push([group.name, part]);
    return true;
  }
  return false;
}

const RANK = { exact: 2, param: 1, wildcard: 0 } as const;

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: readonly Group[], b: readonly Group[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = RANK[(b[i] as Group).kind] - RANK[(a[i] as Group).kind];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
