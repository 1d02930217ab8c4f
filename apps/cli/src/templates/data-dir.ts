import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Spinel's data directory (installed templates live in `<data>/templates`): `--data-dir`,
 * else `$SPINEL_DATA_DIR`, else `$XDG_DATA_HOME/spinel`, else `~/.local/share/spinel`.
 * Spin keeps its own under `$SPIN_DATA_DIR` or the OS data dir + `spin`; the two never share
 * a directory, so installing templates with one tool does not change the other's.
 */
export function dataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (flag !== undefined && flag !== '') return resolve(flag);
  const own = env['SPINEL_DATA_DIR'];
  if (own !== undefined && own !== '') return resolve(own);
  const xdg = env['XDG_DATA_HOME'];
  if (xdg !== undefined && xdg !== '' && xdg.startsWith('/')) return join(xdg, 'spinel');
  return join(home, '.local', 'share', 'spinel');
}
