import { homedir as osHomedir } from 'node:os';
import { isAbsolute, join, posix, win32 } from 'node:path';

/** Options of {@link defaultCacheRoot}; each defaults to the current process. */
export interface DefaultCacheRootOptions {
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** @default os.homedir */
  homedir?: () => string;
}

/**
 * The platform's cache directory for spinel: `$XDG_CACHE_HOME/spinel` or `~/.cache/spinel`
 * on Linux and other Unix systems, `~/Library/Caches/spinel` on macOS,
 * `%LOCALAPPDATA%\spinel` on Windows. `SPINEL_CACHE_DIR` and `--cache-dir` are the caller's
 * to apply before falling back to this.
 */
export function defaultCacheRoot(options: DefaultCacheRootOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = (options.homedir ?? osHomedir)();
  if (platform === 'win32') {
    const local = env['LOCALAPPDATA'];
    return win32.join(local !== undefined && win32.isAbsolute(local) ? local : win32.join(home, 'AppData', 'Local'), 'spinel');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Caches', 'spinel');
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec says a relative value is invalid and must be ignored.
  if (xdg !== undefined && xdg.length > 0 && isAbsolute(xdg)) return join(xdg, 'spinel');
  return join(home, '.cache', 'spinel');
}
