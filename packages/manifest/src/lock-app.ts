/**
 * Locking: turns a parsed manifest into Spin's locked app — sources as `file://` URLs
 * (URL sources through an injected resolver), files copied into
 * `<workingDir>/assets/<component-id>` (or mounted directly), metadata as Spin writes it.
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import { convertAllowedHttpHosts } from './allowed-http-hosts.js';
import { isServiceChainingRule, parseAllowedHost } from './allowed-hosts.js';
import { AppRoot, escapingLinkMessage, isInside } from './app-root.js';
import { checkSourceFile, CheckedFileError, copyCheckedFile, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_SOURCE_BYTES, refuseStats } from './checked-file.js';
import type { CheckedFile } from './checked-file.js';
import { ManifestAggregateError, ManifestError } from './errors.js';
import { compileExclude, looksLikeGlob, walkGlob } from './glob.js';
import { hasIntegralNumber, markTomlFloats, tomlTwin } from './json-floats.js';
import type { GlobFile } from './glob.js';
import type {
  ContentPath,
  JsonObject,
  JsonValue,
  LockedApp,
  LockedAppMetadata,
  LockedComponent,
  LockedComponentDependency,
  LockedComponentMetadata,
  LockedComponentSource,
  LockedTrigger,
  LockedVariable,
} from './locked-app.js';
import { WASM_CONTENT_TYPE } from './locked-app.js';
import type { AppManifest, Component, ComponentDependency, ComponentSource, FilesMount, InheritConfig, ParsedManifest } from './manifest-model.js';
import { isProfileDefined, normalizeManifest } from './normalize.js';
import type { ModelPaths } from './normalize.js';
import { aggregate, MAX_LISTED_PROBLEMS } from './parse-manifest.js';
import { setKey, showPath } from './problems.js';
import { reassignTriggerDependencies } from './trigger-components.js';
import type { Problem } from './problems.js';
import type { KeyPath } from './toml-location.js';

// NODE_DEBUG=spinel-manifest shows what locking resolves and copies.
const debug = debuglog('spinel-manifest');

/**
 * Fetches a URL source and returns where its verified content is: `{ path }` of a local
 * file, or a URI string (`file://…`, or a plain absolute path).
 */
export type SourceResolver = (url: string, digest: string) => Promise<{ path: string } | string>;

/**
 * A registry package to fetch (Spin's `load_registry_source`): `package` is `namespace:name`,
 * `version` a requirement as Rust's `semver` reads it (`=1.2.3` for a component's exact
 * `version`, the dependency's own text otherwise), `registry` absent when the manifest names
 * none (the fetcher's default registry applies, if it has one).
 */
export interface RegistryPackageRequest {
  readonly registry?: string;
  readonly package: string;
  readonly version: string;
}

/** Fetches a registry package and returns where its verified Wasm is, as {@link SourceResolver} does. */
export type RegistryResolver = (request: RegistryPackageRequest) => Promise<{ path: string } | string>;

/** Options for {@link lockApp}. */
export interface LockAppOptions {
  /** Directory that relative paths in the manifest are relative to (the manifest's directory). */
  readonly appDir: string;
  /** Where `assets/<component-id>` copies are written. Required when a component has `files` (unless `directMounts`). */
  readonly workingDir?: string;
  /** Mount each `files` directory directly instead of copying. @default false */
  readonly directMounts?: boolean;
  /** How URL + digest sources are fetched. Without one, a URL source is an error. */
  readonly resolver?: SourceResolver;
  /** How registry package sources are fetched. Without one, a registry source is an error (`MANIFEST_REGISTRY_UNSUPPORTED`). */
  readonly registryResolver?: RegistryResolver;
  /** Build profile to apply (`[component.x.profile.<name>]`). */
  readonly profile?: string;
  /** Value for metadata `origin`; defaults to the `file://` URL of the parsed manifest's path. */
  readonly origin?: string;
  /** Concurrent file copies / source resolutions. @default 16 */
  readonly concurrency?: number;
  /**
   * Largest local component or dependency source accepted, in bytes; a larger one is refused
   * (`MANIFEST_FILE_TOO_LARGE`) before it is read. @default 536870912 (512 MiB)
   */
  readonly maxSourceBytes?: number;
  /** Largest single file of a component's `files` copied, in bytes. @default 1073741824 (1 GiB) */
  readonly maxFileBytes?: number;
}

/**
 * Locks a parsed manifest into Spin's locked-app model.
 *
 * @throws {ManifestAggregateError} `MANIFEST_INVALID` listing every problem, e.g.
 *   `MANIFEST_UNKNOWN_PROFILE`, `MANIFEST_SOURCE_NO_RESOLVER`, `MANIFEST_SOURCE_RESOLVE_FAILED`,
 *   `MANIFEST_REGISTRY_UNSUPPORTED`, `MANIFEST_FILES_NOT_FOUND`, `MANIFEST_FILES_OUTSIDE_APP`,
 *   `MANIFEST_DIRECT_MOUNTS`, `MANIFEST_FILES_COPY_FAILED`, `MANIFEST_INVALID_DEPENDENCY`,
 *   `MANIFEST_FILES_LINK_OUTSIDE_APP` (a link in `files` resolving outside the app directory),
 *   `MANIFEST_NOT_REGULAR_FILE` (a source or file that is a device, FIFO, socket or directory),
 *   `MANIFEST_FILE_TOO_LARGE`, `MANIFEST_FILES_CHANGED` (a file replaced while it was copied)
 */
export async function lockApp(parsed: ParsedManifest, options: LockAppOptions): Promise<LockedApp> {
  const appDir = resolve(options.appDir);
  // Hoisting adds entries to `components`; a copy of the maps keeps the caller's value intact.
  const paths = { components: { ...parsed.keyPaths.components }, triggers: { ...parsed.keyPaths.triggers } } as ModelPaths;
  const problems: Problem[] = [];
  const fail = (): never => {
    if (parsed.text !== undefined) throw aggregate(parsed.text, problems, parsed.path);
    throw new ManifestAggregateError(
      problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => new ManifestError(p.code, p.message, withPath(parsed.path, p.keyPath))),
      { ...(parsed.path === undefined ? {} : { path: parsed.path }), total: problems.length },
    );
  };
  if (options.profile !== undefined && !isProfileDefined(parsed.manifest, options.profile)) {
    problems.push({ code: 'MANIFEST_UNKNOWN_PROFILE', message: `Profile ${options.profile} is not defined in this application`, keyPath: [], at: 'key' });
    fail();
  }
  const { manifest, problems: normProblems } = normalizeManifest(parsed.manifest, options.profile, paths);
  problems.push(...normProblems);
  if (problems.length > 0) fail();

  const limit = limiter(options.concurrency ?? 16);
  let root: Promise<AppRoot> | undefined;
  const ctx: LockContext = {
    appDir,
    options,
    problems,
    limit,
    appRoot: () => (root ??= AppRoot.open(appDir)),
    maxSourceBytes: options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
  };

  // Which integral numbers were floats (`1.0`) in the TOML, so they serialise as Spin's do.
  const twin = tomlTwin(parsed.text);
  const globalTwin = (type: string): unknown => twin(parsed.manifestVersion === 1 ? ['trigger'] : ['application', 'trigger', type]);
  const metadata = lockedMetadata(manifest, globalTwin);
  if (options.origin !== undefined) metadata.origin = options.origin;
  else if (parsed.path !== undefined) metadata.origin = pathToFileURL(resolve(parsed.path)).href;
  if (options.profile !== undefined) metadata.profile = options.profile;

  const variables: Record<string, LockedVariable> = {};
  for (const [name, v] of Object.entries(manifest.variables)) {
    const lv: LockedVariable = {};
    if (v.description !== undefined) lv.description = v.description;
    if (v.default !== undefined) lv.default = v.default;
    if (v.secret) lv.secret = true;
    setKey(variables, name, lv);
  }

  const triggers: LockedTrigger[] = [];
  const triggerJobs: Promise<void>[] = [];
  for (const [type, list] of Object.entries(manifest.triggers)) {
    list.forEach((t, i) => {
      let config: JsonObject = { ...t.config };
      if (t.component?.kind === 'reference') config['component'] = t.component.id;
      const kp = paths.triggers[type]?.[i];
      if (kp !== undefined && hasIntegralNumber(config)) config = markTomlFloats(config, twin(kp)) as JsonObject;
      const locked: LockedTrigger = { id: t.id, trigger_type: type, trigger_config: config };
      triggers.push(locked);
      const roles = Object.entries(t.dependencies);
      if (roles.length > 0) {
        const kp = paths.triggers[type]?.[i] ?? ['trigger', type, i];
        triggerJobs.push(
          (async () => {
            const out: Record<string, LockedComponentDependency[]> = {};
            for (const [role, deps] of roles) {
              const lockedDeps = await Promise.all(deps.map((d, di) => lockDependency(ctx, d, [...kp, 'dependencies', role, di], t.id)));
              setKey(out, role, lockedDeps.filter((d): d is LockedComponentDependency => d !== undefined));
            }
            locked.trigger_dependencies = out;
          })(),
        );
      }
    });
  }

  const components = await Promise.all(
    Object.entries(manifest.components).map(([id, c]) => lockComponent(ctx, id, c, paths.components[id] ?? ['component', id])),
  );
  await Promise.all(triggerJobs);
  if (problems.length > 0) fail();

  const app: LockedApp = {
    spin_lock_version: 0,
    metadata,
    variables,
    triggers,
    components: components.filter((c): c is LockedComponent => c !== undefined),
  };
  reassignTriggerDependencies(app);
  if (app.components.some((c) => c.host_requirements !== undefined && Object.keys(c.host_requirements).length > 0)) {
    app.must_understand = ['component_host_requirements'];
    app.spin_lock_version = 1;
  }
  return app;
}

function withPath(path: string | undefined, kp: KeyPath): { path?: string; keyPath?: string } {
  const keyPath = showPath(kp);
  return { ...(path === undefined ? {} : { path }), ...(keyPath === '' ? {} : { keyPath }) };
}

interface LockContext {
  readonly appDir: string;
  readonly options: LockAppOptions;
  readonly problems: Problem[];
  readonly limit: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The application directory with links resolved (computed once, when files are locked). */
  readonly appRoot: () => Promise<AppRoot>;
  readonly maxSourceBytes: number;
  readonly maxFileBytes: number;
}

function lockedMetadata(m: AppManifest, globalTwin: (type: string) => unknown): LockedAppMetadata {
  const md: LockedAppMetadata = {};
  const a = m.application;
  if (a.name !== '') md.name = a.name;
  if (a.version !== '') md.version = a.version;
  if (a.description !== '') md.description = a.description;
  if (a.authors.length > 0) md.authors = [...a.authors];
  const marked = (type: string, config: JsonObject): JsonObject => (hasIntegralNumber(config) ? (markTomlFloats(config, globalTwin(type)) as JsonObject) : config);
  const triggers: JsonObject = {};
  for (const [type, config] of Object.entries(a.triggerGlobalConfigs)) setKey(triggers, type, marked(type, config));
  md.triggers = triggers;
  const types = Object.keys(m.triggers);
  if (types.length === 1) {
    const type = types[0] as string;
    md.trigger = marked(type, { ...(a.triggerGlobalConfigs[type] ?? {}), type });
  }
  return md;
}

function fileUrl(p: string): string {
  return pathToFileURL(p).href;
}

async function lockComponent(ctx: LockContext, id: string, c: Component, kp: KeyPath): Promise<LockedComponent | undefined> {
  const converted = convertAllowedHttpHosts(c.allowed_http_hosts, false);
  const allowed = [...c.allowed_outbound_hosts, ...(converted.ok ? converted.hosts : [])];
  const metadata: LockedComponentMetadata = {};
  if (c.description !== '') metadata.description = c.description;
  if (allowed.length > 0) metadata.allowed_outbound_hosts = allowed;
  if (c.key_value_stores.length > 0) metadata.key_value_stores = [...c.key_value_stores];
  if (c.sqlite_databases.length > 0) metadata.databases = [...c.sqlite_databases];
  if (c.ai_models.length > 0) metadata.ai_models = [...c.ai_models];
  if (c.build !== undefined) {
    const b: JsonObject = { command: c.build.commandIsArray ? [...c.build.commands] : (c.build.commands[0] ?? '') };
    if (c.build.workdir !== undefined) b['workdir'] = c.build.workdir;
    if (c.build.watch.length > 0) b['watch'] = [...c.build.watch];
    metadata.build = b;
  }

  const source = await lockSource(ctx, id, c.source, [...kp, 'source']);
  const dependencies: Record<string, LockedComponentDependency> = {};
  await Promise.all(
    Object.entries(c.dependencies).map(async ([name, d]) => {
      const locked = await lockDependency(ctx, d, [...kp, 'dependencies', name], id);
      if (locked !== undefined) setKey(dependencies, name, locked);
    }),
  );
  const files = await lockFiles(ctx, id, c, kp);

  const chaining = allowed.some((h) => {
    if (h.includes('{{')) return false; // templates are resolved at run time
    try {
      return isServiceChainingRule(parseAllowedHost(h));
    } catch {
      return false;
    }
  });
  if (source === undefined || files === undefined) return undefined;
  const locked: LockedComponent = { id, source };
  if (Object.keys(metadata).length > 0) locked.metadata = metadata;
  if (Object.keys(c.environment).length > 0) locked.env = { ...c.environment };
  if (files.length > 0) locked.files = files;
  if (Object.keys(c.variables).length > 0) locked.config = { ...c.variables };
  if (Object.keys(dependencies).length > 0) locked.dependencies = dependencies;
  if (chaining) locked.host_requirements = { local_service_chaining: 'required' };
  return locked;
}

async function lockSource(ctx: LockContext, id: string, source: ComponentSource, kp: KeyPath): Promise<LockedComponentSource | undefined> {
  const uri = await resolveSource(ctx, source, kp, `component \`${id}\``);
  return uri === undefined ? undefined : { content_type: WASM_CONTENT_TYPE, source: uri };
}

async function resolveSource(ctx: LockContext, source: ComponentSource, kp: KeyPath, who: string): Promise<string | undefined> {
  switch (source.kind) {
    case 'local':
      return localSource(ctx, source.path, kp, who);
    case 'url': {
      if (!source.digest.startsWith('sha256:')) {
        ctx.problems.push({ code: 'MANIFEST_INVALID_DIGEST', message: `invalid \`digest\` ${JSON.stringify(source.digest)}; must start with 'sha256:'`, keyPath: [...kp, 'digest'], at: 'value' });
        return undefined;
      }
      const resolver = ctx.options.resolver;
      if (resolver === undefined) {
        ctx.problems.push({
          code: 'MANIFEST_SOURCE_NO_RESOLVER',
          message: `${who} has a URL source (${JSON.stringify(source.url)} with digest ${JSON.stringify(source.digest)}) but no downloader was configured; pass a resolver (the CLI uses the cache) or download the file and use a local \`source\` path`,
          keyPath: kp,
          at: 'value',
        });
        return undefined;
      }
      try {
        debug('resolving %s (%s) for %s', source.url, source.digest, who);
        const r = await ctx.limit(() => resolver(source.url, source.digest));
        const p = typeof r === 'string' ? r : r.path;
        return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(p) ? p : fileUrl(resolve(p));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        ctx.problems.push({
          code: 'MANIFEST_SOURCE_RESOLVE_FAILED',
          message: `Error fetching source URL ${JSON.stringify(source.url)} for ${who}: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`,
          keyPath: kp,
          at: 'value',
        });
        return undefined;
      }
    }
    case 'registry':
      // A component's `version` is exact (Spin parses it as a `semver::Version`).
      return registrySource(ctx, { ...(source.registry === undefined ? {} : { registry: source.registry }), package: source.package, version: `=${source.version}` }, kp, who);
  }
}

/** A registry package, fetched by the injected {@link RegistryResolver}, as a `file://` URL. */
async function registrySource(ctx: LockContext, request: RegistryPackageRequest, kp: KeyPath, who: string): Promise<string | undefined> {
  const resolver = ctx.options.registryResolver;
  if (resolver === undefined) {
    ctx.problems.push({
      code: 'MANIFEST_REGISTRY_UNSUPPORTED',
      message: `${who} uses a registry package source (${request.package} ${request.version}) but no registry client was configured; pass a registryResolver (the CLI pulls through the cache) or download the component and use a local \`source\` path`,
      keyPath: kp,
      at: 'value',
    });
    return undefined;
  }
  const what = `${request.package} ${request.version}${request.registry === undefined ? '' : ` from ${request.registry}`}`;
  try {
    debug('resolving package %s for %s', what, who);
    const r = await ctx.limit(() => resolver(request));
    const p = typeof r === 'string' ? r : r.path;
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(p) ? p : fileUrl(resolve(p));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    ctx.problems.push({
      code: 'MANIFEST_SOURCE_RESOLVE_FAILED',
      message: `Error fetching package ${what} for ${who}: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`,
      keyPath: kp,
      at: 'value',
    });
    return undefined;
  }
}

/** The package a dependency named `ns:pkg[/iface][@version]` refers to (`ns:pkg`), as Spin's `DependencyName::package`. */
function packageOfName(name: string): string | undefined {
  const m = /^([^:/@]+:[^:/@]+)(?:\/[^@]*)?(?:@.*)?$/.exec(name);
  return m?.[1];
}

/**
 * A local source as a `file://` URL, after checking that what is there (if anything: an unbuilt
 * app locks, as in Spin) is a regular file within the size limit.
 */
async function localSource(ctx: LockContext, path: string, kp: KeyPath, who: string): Promise<string | undefined> {
  const full = resolve(ctx.appDir, path);
  const refusal = await checkSourceFile(full, `the source ${JSON.stringify(path)} of ${who}`, ctx.maxSourceBytes, 'maxSourceBytes');
  if (refusal !== undefined) {
    ctx.problems.push({ code: refusal.code, message: refusal.message, keyPath: kp, at: 'value' });
    return undefined;
  }
  return fileUrl(full);
}

async function lockDependency(ctx: LockContext, d: ComponentDependency, kp: KeyPath, owner: string): Promise<LockedComponentDependency | undefined> {
  let uri: string | undefined;
  const who = `dependency \`${showPath(kp.slice(-1))}\` of \`${owner}\``;
  if (d.kind === 'local') uri = await localSource(ctx, d.path, kp, who);
  else if (d.kind === 'url') uri = await resolveSource(ctx, { kind: 'url', url: d.url, digest: d.digest }, kp, who);
  else if (d.kind === 'version' || d.kind === 'package') {
    // Spin: the package is `package`, or the package the dependency's name belongs to.
    const name = kp.at(-1);
    const pkg = (d.kind === 'package' ? d.package : undefined) ?? (typeof name === 'string' ? packageOfName(name) : undefined);
    if (pkg === undefined) {
      ctx.problems.push({ code: 'MANIFEST_INVALID_DEPENDENCY', message: `${who} is a registry package but names no package; set \`package = "namespace:name"\``, keyPath: kp, at: 'value' });
      return undefined;
    }
    const registry = d.kind === 'package' ? d.registry : undefined;
    uri = await registrySource(ctx, { ...(registry === undefined ? {} : { registry }), package: pkg, version: d.version }, kp, who);
  }
  else return undefined; // component references were replaced during normalisation
  if (uri === undefined) return undefined;
  const locked: LockedComponentDependency = { source: { content_type: WASM_CONTENT_TYPE, source: uri }, export: d.kind === 'version' ? null : (d.export ?? null) };
  const inherit: InheritConfig | undefined = d.kind === 'version' ? undefined : d.inherit;
  if (inherit === true) locked.inherit = 'All';
  else if (Array.isArray(inherit) && inherit.length > 0) locked.inherit = { Some: [...(inherit as string[])] };
  return locked;
}

async function lockFiles(ctx: LockContext, id: string, c: Component, kp: KeyPath): Promise<ContentPath[] | undefined> {
  if (c.files.length === 0) return [];
  const before = ctx.problems.length;
  const add = (code: string, message: string, at: KeyPath): void => {
    ctx.problems.push({ code, message, keyPath: at, at: 'value' });
  };
  const app = await ctx.appRoot();
  if (ctx.options.directMounts === true) {
    if (c.exclude_files.length > 0) {
      add('MANIFEST_DIRECT_MOUNTS', `Cannot load a component with \`exclude_files\` using --direct-mounts (component \`${id}\`)`, [...kp, 'exclude_files']);
      return undefined;
    }
    const out: ContentPath[] = [];
    for (const [i, f] of c.files.entries()) {
      const [src, dest] = f.kind === 'pattern' ? [f.pattern, f.pattern] : [f.source, f.destination];
      const full = resolve(ctx.appDir, src);
      const s = await stat(full).catch(() => undefined);
      if (s?.isDirectory() !== true) {
        add('MANIFEST_DIRECT_MOUNTS', `Only directory mounts are supported with \`--direct-mounts\`; ${JSON.stringify(src)} is not a directory.`, [...kp, 'files', i]);
        continue;
      }
      // The guest reads the directory as it is: every link in it must stay inside the app.
      const prefix = app.relative(full);
      const found = isInside(ctx.appDir, full)
        ? await walkGlob(app, `${prefix === '' ? '' : `${prefix}/`}**/*`)
        : { files: [], refusals: [{ code: 'MANIFEST_FILES_OUTSIDE_APP', message: `${src} cannot be mapped because it is outside the application directory. Files must be within the application directory.` }] };
      for (const r of found.refusals) add(r.code, r.message, [...kp, 'files', i]);
      out.push({ source: fileUrl(full), path: dest });
    }
    return ctx.problems.length > before ? undefined : out;
  }
  const workingDir = ctx.options.workingDir;
  if (workingDir === undefined) {
    add('MANIFEST_FILES_NO_WORKING_DIR', `component \`${id}\` has \`files\` but no working directory was given to copy them into; pass \`workingDir\` (CLI: --temp DIR) or use direct mounts`, [...kp, 'files']);
    return undefined;
  }
  const root = resolve(workingDir, 'assets', id);
  await mkdir(root, { recursive: true });
  const excludes = c.exclude_files.map(compileExclude);
  const excluded = (rel: string): boolean => excludes.some((m) => m(rel));
  const copies: FileCopy[] = [];
  for (const [i, f] of c.files.entries()) {
    const fkp = [...kp, 'files', i];
    await collectCopies(ctx, app, root, f, excluded, copies, (code, message) => add(code, message, fkp));
  }
  if (ctx.problems.length > before) return undefined;
  await Promise.all(
    copies.map((cp) =>
      ctx.limit(async () => {
        if (!isInside(root, cp.to)) {
          add('MANIFEST_FILES_OUTSIDE_APP', `destination ${JSON.stringify(cp.guest)} of component \`${id}\` escapes the component's file root`, [...kp, 'files']);
          return;
        }
        try {
          debug('copying %s to %s', cp.file.real, cp.to);
          await mkdir(dirname(cp.to), { recursive: true });
          await copyCheckedFile(cp.file, cp.to, JSON.stringify(cp.rel), ctx.maxFileBytes, 'maxFileBytes');
        } catch (err) {
          if (err instanceof CheckedFileError) {
            add(err.code, err.message, [...kp, 'files']);
            return;
          }
          const dirLike = /(\/|\.|\.\.)$/.test(cp.guest);
          add(
            'MANIFEST_FILES_COPY_FAILED',
            dirLike
              ? `Failed to copy "${cp.from}" to working path "${cp.to}": ${JSON.stringify(cp.guest)} is not a valid destination file name`
              : `Failed to copy "${cp.from}" to working path "${cp.to}" (for destination path ${JSON.stringify(cp.guest)}): ${(err as Error).message}`,
            [...kp, 'files'],
          );
        }
      }),
    ),
  );
  if (ctx.problems.length > before) return undefined;
  return [{ source: fileUrl(root), path: '/' }];
}

/** One file to copy: the checked source, where it goes, and how the guest names it. */
interface FileCopy {
  readonly file: CheckedFile;
  /** The source as written (app directory joined with its relative path). */
  readonly from: string;
  /** App-relative source path, for messages. */
  readonly rel: string;
  readonly to: string;
  readonly guest: string;
}

async function collectCopies(
  ctx: LockContext,
  app: AppRoot,
  root: string,
  f: FilesMount,
  excluded: (rel: string) => boolean,
  out: FileCopy[],
  problem: (code: string, message: string) => void,
): Promise<void> {
  const appDir = ctx.appDir;
  const walk = async (pattern: string): Promise<GlobFile[]> => {
    const found = await walkGlob(app, pattern, { excluded, maxBytes: ctx.maxFileBytes, limitName: 'maxFileBytes' });
    for (const r of found.refusals) problem(r.code, r.message);
    return found.files;
  };
  // A single named file: checked like a walked one (links resolved, regular, bounded).
  const single = async (full: string): Promise<CheckedFile | undefined> => {
    const real = await realpath(full).catch(() => undefined);
    if (real === undefined) return undefined;
    if (!app.contains(real)) {
      const escape = await app.escapingLink(full);
      problem('MANIFEST_FILES_LINK_OUTSIDE_APP', escapingLinkMessage(escape ?? { link: app.relative(full), target: real, resolved: real }));
      return undefined;
    }
    const info = await stat(real).catch(() => undefined);
    if (info === undefined) return undefined;
    const refusal = refuseStats(info, JSON.stringify(app.relative(full)), ctx.maxFileBytes, 'maxFileBytes');
    if (refusal !== undefined) {
      problem(refusal.code, refusal.message);
      return undefined;
    }
    return { real, dev: info.dev, ino: info.ino, size: info.size };
  };
  if (f.kind === 'pattern') {
    const p = f.pattern;
    const full = resolve(appDir, p);
    if (!isInside(appDir, full)) {
      problem('MANIFEST_FILES_OUTSIDE_APP', `${p} cannot be mapped because it is outside the application directory. Files must be within the application directory.`);
      return;
    }
    const s = await stat(full).catch(() => undefined);
    if (s !== undefined) {
      if (s.isDirectory()) {
        const prefix = app.relative(full);
        for (const file of await walk(`${prefix === '' ? '' : `${prefix}/`}**/*`)) {
          out.push({ file, from: join(appDir, file.rel), rel: file.rel, to: join(root, file.rel), guest: file.rel });
        }
      } else {
        const r = app.relative(full);
        if (excluded(r)) return;
        const file = await single(full);
        if (file !== undefined) out.push({ file, from: full, rel: r, to: join(root, r), guest: p });
      }
    } else if (looksLikeGlob(p)) {
      for (const file of await walk(p)) {
        out.push({ file, from: join(appDir, file.rel), rel: file.rel, to: join(root, file.rel), guest: file.rel });
      }
    } else {
      problem('MANIFEST_FILES_NOT_FOUND', `${JSON.stringify(p)} does not exist and doesn't appear to be a glob pattern`);
    }
    return;
  }
  const src = resolve(appDir, f.source);
  if (!isInside(appDir, src)) {
    problem('MANIFEST_FILES_OUTSIDE_APP', `${f.source} cannot be mapped because it is outside the application directory. Files must be within the application directory.`);
    return;
  }
  const s = await stat(src).catch(() => undefined);
  if (s === undefined) {
    problem('MANIFEST_FILES_NOT_FOUND', `File or directory ${JSON.stringify(f.source)} does not exist`);
    return;
  }
  const dest = join(root, f.destination.replace(/^\/+/, ''));
  if (s.isDirectory()) {
    const prefix = app.relative(src);
    for (const file of await walk(`${prefix === '' ? '' : `${prefix}/`}**/*`)) {
      const within = prefix === '' ? file.rel : file.rel.slice(prefix.length + 1);
      out.push({ file, from: join(appDir, file.rel), rel: file.rel, to: join(dest, within), guest: `${f.destination.replace(/\/$/, '')}/${within}` });
    }
  } else if (!excluded(app.relative(src))) {
    const file = await single(src);
    if (file !== undefined) out.push({ file, from: src, rel: app.relative(src), to: dest, guest: f.destination });
  }
}

function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** For callers that build JSON by hand. */
export type { JsonValue };
