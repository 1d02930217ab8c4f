import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteConnections, createSqliteFiles, type SqliteConnections, type SqliteFiles } from './sqlite-core.js';
import { createSqliteImports } from './sqlite-imports.js';
import { buildSqliteWatGuest, type BuiltWatGuest, type SqliteWatGuest } from '@spinel/test-utils';

// A real component calling the host through jco's own glue: this proves the import shapes
// (resource classes, thrown variant payloads, s64/u64 as bigint, the unversioned interface's u32
// handles) and not only our reading of the WIT.
type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: object) => SqliteWatGuest;

let built: BuiltWatGuest;
let instantiate: Instantiate;
let dir: string;
let files: SqliteFiles;

beforeAll(async () => {
  built = await buildSqliteWatGuest();
  instantiate = ((await import(pathToFileURL(join(built.dir, 'guest.mjs')).href)) as { instantiate: Instantiate }).instantiate;
  dir = await mkdtemp(join(tmpdir(), 'spinel-sqlite-imports-'));
  files = createSqliteFiles();
}, 120_000);
afterAll(async () => {
  files.close();
  await rm(dir, { recursive: true, force: true });
  await rm(built.dir, { recursive: true, force: true });
});

function start(): { guest: SqliteWatGuest; sqlite: SqliteConnections } {
  const sqlite = createSqliteConnections({
    allowed: ['default'],
    databases: new Map([
      ['default', { path: join(dir, 'sqlite_db.db') }],
      ['forbidden', { path: join(dir, 'forbidden.db') }],
    ]),
    files,
  });
  const imports = createSqliteImports(sqlite);
  const guest = instantiate((name) => new WebAssembly.Module(built.files[name] as Uint8Array<ArrayBuffer>), imports);
  return { guest, sqlite };
}

describe('SQLite imports under jco-generated glue', () => {
  it('spin:sqlite/sqlite@3.0.0: open, execute with typed parameters, typed rows, last-insert-rowid and changes', () => {
    const { guest, sqlite } = start();
    expect(guest.roundtrip()).toBe(42n * 1000n + 1n);
    expect(guest.roundtrip()).toBe(42n * 1000n + 2n);
    // The guest dropped its connection: nothing stays open.
    expect(sqlite.openCount()).toBe(0);
  });

  it('an unlisted label is err(access-denied), bad SQL is err(io(message))', () => {
    const { guest } = start();
    expect(guest.openDenied()).toBe(1 * 256 + 1);
    expect(guest.badSql()).toBe(65536 + 1 * 256 + 4);
  });

  it('fermyon:spin/sqlite@2.0.0 and Spin 1\'s unversioned interface read the same database', () => {
    const { guest, sqlite } = start();
    const before = guest.v2Count();
    expect(before).toBeGreaterThanOrEqual(2n);
    guest.roundtrip();
    expect(guest.v2Count()).toBe(before + 1n);
    expect(guest.legacyCount()).toBe(before + 1n);
    expect(sqlite.openCount()).toBe(0);
  });

  it('runs a query loop on one connection (what the benchmark measures)', () => {
    const { guest, sqlite } = start();
    const setup = sqlite.open('default');
    sqlite.execute(setup, 'CREATE TABLE IF NOT EXISTS bench (id INTEGER PRIMARY KEY, v INTEGER)', []);
    sqlite.execute(setup, 'INSERT OR REPLACE INTO bench SELECT value, value * 2 FROM json_each(?)', [{ tag: 'text', val: JSON.stringify(Array.from({ length: 1000 }, (_, i) => i + 1)) }]);
    sqlite.close(setup);
    expect(guest.bench(2000)).toBe(2n * 2n * ((1000n * 1001n) / 2n));
  });
});
