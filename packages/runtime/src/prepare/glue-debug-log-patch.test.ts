import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSqliteWatGuest } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { patchGlueDebugLog } from './glue-debug-log-patch.js';

describe('patchGlueDebugLog', () => {
  it('makes the glue jco 1.35 generates read JCO_DEBUG once instead of on every log call', async () => {
    const built = await buildSqliteWatGuest();
    try {
      const glue = await readFile(join(built.dir, 'guest.mjs'), 'utf8');
      expect(glue).toMatch(/const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\)/);
      const { source, patched } = patchGlueDebugLog(glue);
      expect(patched).toBe(true);
      expect(source.match(/process\?\.env\?\.JCO_DEBUG/g)).toHaveLength(1);
      expect(source).toContain('const _jcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG);');
      // Other text is left alone.
      expect(patchGlueDebugLog('export function instantiate() {}')).toEqual({ source: 'export function instantiate() {}', patched: false });
    } finally {
      await rm(built.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
