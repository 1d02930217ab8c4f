import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The CLI package's own directory (where `templates/` and `package.json` are), found by walking
 * up from this module, so it holds however the CLI's files are laid out in `dist/`.
 */
export function cliPackageRoot(): string {
  if (cached !== undefined) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === '@spinel/cli') {
      cached = dir;
      return dir;
    }
  }
  throw new Error('spinel cannot find its own package directory (package.json of @spinel/cli)');
}
