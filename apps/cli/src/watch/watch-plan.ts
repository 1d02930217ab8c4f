import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import picomatch from 'picomatch';

/** What `spinel watch` watches in an app, and what a change to each means (Spin's `spin watch` filters). */
export interface WatchPlan {
  readonly manifestPath: string;
  readonly appDir: string;
  /** Components with `[component.x.build] watch` globs (relative to the app, workdir applied). */
  readonly builds: readonly { readonly component: string; readonly globs: readonly string[] }[];
  /** Components with a build command but nothing to watch (they are built once, at the start). */
  readonly unwatched: readonly string[];
  /** Component sources and `files` mounts: a change restarts serving. */
  readonly artifacts: readonly string[];
  /** Directories (or files) to watch, none inside another. */
  readonly roots: readonly string[];
}

/** What a changed path means. */
export type ChangeKind = { kind: 'manifest' } | { kind: 'build'; components: string[] } | { kind: 'artifact' } | { kind: 'none' };

/**
 * Reads the manifest (normalised for `profile`) into a watch plan: as in Spin, build globs come
 * from `[component.x.build] watch` (relative to the build's workdir), artifacts are local
 * component sources and the files they mount; with `skipAssets` (up runs with
 * `--direct-mounts`, which serves files in place) mounted files need no restart.
 *
 * @throws manifest errors from @spinel/manifest
 */
export async function readWatchPlan(manifestPath: string, options: { profile?: string | undefined; skipAssets: boolean }): Promise<WatchPlan> {
  const manifest = await import('@spinel/manifest');
  const parsed = await manifest.readManifest(manifestPath);
  const { manifest: app } = manifest.normalizeManifest(parsed.manifest, options.profile);
  const appDir = dirname(manifestPath);
  const builds: { component: string; globs: string[] }[] = [];
  const unwatched: string[] = [];
  const artifacts: string[] = [];
  for (const [id, component] of Object.entries(app.components)) {
    const build = component.build;
    if (build !== undefined && build.commands.length > 0) {
      if (build.watch.length === 0) unwatched.push(id);
      else builds.push({ component: id, globs: build.watch.map((g) => (g.startsWith('/') || build.workdir === undefined ? g : `${build.workdir.replace(/\/$/, '')}/${g}`)) });
    }
    if (component.source.kind === 'local') artifacts.push(component.source.path);
    if (!options.skipAssets) {
      for (const mount of component.files) artifacts.push(mount.kind === 'placement' ? `${mount.source.replace(/\/$/, '') || '.'}/**/*` : mount.pattern);
    }
  }
  const file = relative(appDir, manifestPath);
  const globs = [file, ...builds.flatMap((b) => b.globs), ...artifacts];
  return { manifestPath, appDir, builds, unwatched, artifacts, roots: watchRoots(appDir, globs) };
}

/** The directories to watch for a set of globs: each glob's fixed prefix, or its nearest existing ancestor in the app. */
function watchRoots(appDir: string, globs: readonly string[]): string[] {
  const roots = new Set<string>();
  for (const glob of globs) {
    const scan = picomatch.scan(glob);
    let base = join(appDir, scan.isGlob ? scan.base : glob);
    while (!existsSync(base) && base.startsWith(appDir) && base !== appDir) base = dirname(base);
    if (!base.startsWith(appDir)) base = appDir;
    roots.add(base);
  }
  const sorted = [...roots].sort();
  return sorted.filter((r) => !sorted.some((o) => o !== r && r.startsWith(`${o}${sep}`)));
}

/** Classifies a changed path (absolute) against a plan. */
export function classify(plan: WatchPlan, path: string): ChangeKind {
  if (path === plan.manifestPath) return { kind: 'manifest' };
  const rel = relative(plan.appDir, path).split(sep).join('/');
  if (rel.startsWith('..')) return { kind: 'none' };
  const components = plan.builds.filter((b) => matcher(b.globs)(rel)).map((b) => b.component);
  if (components.length > 0) return { kind: 'build', components };
  if (isArtifact(plan, path)) return { kind: 'artifact' };
  return { kind: 'none' };
}

/** Whether `path` is a component source or a mounted file (a change to it restarts serving), whatever else it is. */
export function isArtifact(plan: WatchPlan, path: string): boolean {
  const rel = relative(plan.appDir, path).split(sep).join('/');
  return !rel.startsWith('..') && plan.artifacts.length > 0 && matcher(plan.artifacts)(rel);
}

const matchers = new Map<string, (path: string) => boolean>();
function matcher(globs: readonly string[]): (path: string) => boolean {
  const key = globs.join('\0');
  let m = matchers.get(key);
  if (m === undefined) {
    // `./dist/x.wasm` and `dist/x.wasm` name the same file.
    m = picomatch(
      globs.map((g) => g.replace(/^\.\//, '')),
      { dot: true },
    );
    matchers.set(key, m);
  }
  return m;
}

/** Directories never worth watching unless a glob names them: VCS data, dependencies, spinel's state (logs change on every request). */
export function ignoredDirectory(plan: WatchPlan, path: string): boolean {
  const rel = relative(plan.appDir, path).split(sep).join('/');
  const globs = [...plan.builds.flatMap((b) => b.globs), ...plan.artifacts].join('\n');
  return rel.split('/').some((part) => (part === '.git' || part === '.spin' || part === 'node_modules') && !globs.includes(part));
}
