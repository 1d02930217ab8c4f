// Service client libraries load on first use: importing the package (what every `spinel up`
// does) loads none of them.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const LIBRARIES = ['undici', 'pg', 'mysql2', 'mqtt', 'ioredis', 'better-sqlite3'];

/** The libraries of {@link LIBRARIES} a fresh process has loaded after running `script` (ESM, with `index` the package's entry URL). */
async function loadedAfter(script: string): Promise<string[]> {
  const index = new URL('./index.ts', import.meta.url).href;
  const program = `const index = ${JSON.stringify(index)};
${script}
const { createRequire } = await import('node:module');
const paths = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify(${JSON.stringify(LIBRARIES)}.filter((name) => paths.some((p) => p.includes('/node_modules/' + name + '/')))));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
}

describe('service libraries', () => {
  it('are not loaded by importing the package', async () => {
    expect(await loadedAfter('await import(index);')).toEqual([]);
  }, 60_000);

  it('load when a service first needs them', async () => {
    // The check above could pass with a broken probe; the same probe sees a library once it is used.
    const loaded = await loadedAfter(`const { prepareSqlite } = await import(new URL('./services/sqlite.ts', index).href);
const { mkdtempSync, rmSync } = await import('node:fs');
const dir = mkdtempSync((await import('node:os')).tmpdir() + '/spinel-first-use-');
const prepared = await prepareSqlite({ app: { components: [{ id: 'c', metadata: { sqlite_databases: ['default'] } }] }, stateDir: dir, statements: ['CREATE TABLE t (x)'], cwd: dir });
await prepared.close();
rmSync(dir, { recursive: true, force: true });`);
    expect(loaded).toEqual(['better-sqlite3']);
  }, 60_000);
});
