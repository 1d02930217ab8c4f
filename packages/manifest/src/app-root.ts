/**
 * The application directory as a boundary for `files`: paths are compared after symbolic
 * links are resolved, so a link may point anywhere inside the app but never outside it, and a
 * refusal names the link and what it points to.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/** A symbolic link whose target resolves outside the application directory. */
export interface EscapingLink {
  /** The link, relative to the application directory, with `/` separators. */
  readonly link: string;
  /** What the link says (`readlink`). */
  readonly target: string;
  /** Where it resolves to, links followed. */
  readonly resolved: string;
}

/** True when `p` is `root` or below it (both absolute, compared as written). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The application directory, resolved once. */
export class AppRoot {
  private constructor(
    /** The directory as given (absolute). */
    readonly dir: string,
    /** The directory with every link resolved. */
    readonly real: string,
  ) {}

  /** Resolves `dir` (which must exist) to its real path. */
  static async open(dir: string): Promise<AppRoot> {
    return new AppRoot(dir, await realpath(dir));
  }

  /** True when a real (resolved) path is inside the application directory. */
  contains(realPath: string): boolean {
    return isInside(this.real, realPath);
  }

  /** `abs` relative to the application directory, `/`-separated. */
  relative(abs: string): string {
    return relative(this.dir, abs).split(sep).join('/');
  }

  /**
   * The first link on the way from the application directory to `abs` (a path below it, as
   * written) that resolves outside it, or undefined when every link stays inside.
   */
  async escapingLink(abs: string): Promise<EscapingLink | undefined> {
    const parts = relative(this.dir, abs).split(sep).filter((p) => p !== '' && p !== '.');
    let current = this.dir;
    for (const part of parts) {
      current = join(current, part);
      const info = await lstat(current).catch(() => undefined);
      if (info === undefined) return undefined;
      if (!info.isSymbolicLink()) continue;
      const resolved = await realpath(current).catch(() => undefined);
      if (resolved !== undefined && !this.contains(resolved)) {
        return { link: this.relative(current), target: await readlink(current).catch(() => '?'), resolved };
      }
    }
    return undefined;
  }
}

/** The refusal message for a link that leaves the application directory. */
export function escapingLinkMessage(e: EscapingLink): string {
  const resolves = e.resolved === e.target ? '' : ` (resolving to ${JSON.stringify(e.resolved)})`;
  return `${JSON.stringify(e.link)} is a symbolic link to ${JSON.stringify(e.target)}${resolves}, outside the application directory; files must be within the application directory. Replace the link with a copy of what it points to, or remove it.`;
}
