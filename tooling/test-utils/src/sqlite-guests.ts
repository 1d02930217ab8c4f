// Componentize-js guests using Spin's SQLite interfaces, one per interface version (as an app
// built with one Spin SDK would import one). Each answers JSON (see JSON_HELPERS / guestJson in
// outbound-guests.ts): the same routes over each version's API.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JSON_HELPERS } from './outbound-guests.js';
import { SQLITE_UNVERSIONED_WIT, SQLITE_V2_WIT, SQLITE_V3_WIT } from './sqlite-wit.js';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from './wasm.js';

/** Which interface the guest imports: `fermyon:spin/sqlite@2.0.0`, Spin 1's unversioned one, or `spin:sqlite/sqlite@3.0.0`. */
export type SqliteGuestVersion = 'v2' | 'v1' | 'v3';

const ADAPTERS: Record<SqliteGuestVersion, string> = {
  v2: `import { Connection } from 'fermyon:spin/sqlite@2.0.0';
const open = (label) => Connection.open(label);
const exec = (c, sql, params) => c.execute(sql, params);
const rowid = () => null;
const changes = () => null;`,
  v1: `import * as sqlite from 'fermyon:spin/sqlite';
const open = (label) => sqlite.open(label);
const exec = (c, sql, params) => sqlite.execute(c, sql, params);
const rowid = () => null;
const changes = () => null;`,
  v3: `import { Connection } from 'spin:sqlite/sqlite@3.0.0';
const open = (label) => Connection.open(label);
const exec = (c, sql, params) => c.execute(sql, params);
const rowid = (c) => c.lastInsertRowid();
const changes = (c) => c.changes();`,
};

// Routes: /setup creates the table; /insert adds one row with every parameter type; /select
// returns columns and typed rows; /errors shows bad SQL, an unlisted label and a wrong
// parameter count; /count counts rows; /bench runs ?n= queries (for the benchmark).
const ROUTES = `
${JSON_HELPERS}
async function handle(request) {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === '/setup') {
    const c = open('default');
    return reply(attempt(() => exec(c, 'CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n)', [])));
  }
  if (path === '/insert') {
    const c = open('default');
    const params = [
      { tag: 'integer', val: -9223372036854775808n },
      { tag: 'real', val: 2.5 },
      { tag: 'text', val: url.searchParams.get('t') ?? 'héllo ✓' },
      { tag: 'blob', val: new Uint8Array([0, 1, 255]) },
      { tag: 'null' },
    ];
    const result = attempt(() => exec(c, 'INSERT INTO items (i, r, t, b, n) VALUES (?, ?, ?, ?, ?)', params));
    return reply({ result, rowid: rowid(c), changes: changes(c) });
  }
  if (path === '/select') {
    const c = open('default');
    return reply(attempt(() => exec(c, 'SELECT id, i, r, t, b, n, 7 AS seven, 0.5 AS half FROM items ORDER BY id', [])));
  }
  if (path === '/count') {
    const c = open('default');
    return reply(attempt(() => exec(c, 'SELECT count(*) AS n FROM items', []).rows[0].values[0]));
  }
  if (path === '/errors') {
    const c = open('default');
    return reply({
      badSql: attempt(() => exec(c, 'SELEC * FROM items', [])),
      missingTable: attempt(() => exec(c, 'SELECT * FROM nowhere', [])),
      parameters: attempt(() => exec(c, 'SELECT ?', [])),
      attach: attempt(() => exec(c, "ATTACH '/tmp/spinel-guest-escape.db' AS x", [])),
      unlisted: attempt(() => open('forbidden')),
      undefinedLabel: attempt(() => open('listed-not-defined')),
    });
  }
  if (path === '/bench') {
    // ?n= queries on one connection: point lookups by id, or (q=scan) a sum over 1,000 rows.
    const c = open('default');
    const n = Number(url.searchParams.get('n') ?? '1000');
    const scan = url.searchParams.get('q') === 'scan';
    const sql = scan ? 'SELECT sum(v) FROM bench WHERE id <= ?' : 'SELECT v FROM bench WHERE id = ?';
    let sum = 0n;
    for (let i = 0; i < n; i++) sum += exec(c, sql, [{ tag: 'integer', val: scan ? 1000n : BigInt((i % 1000) + 1) }]).rows[0].values[0].val;
    return reply({ n, sum });
  }
  return new Response('unknown route', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const PACKAGES: Record<SqliteGuestVersion, { import: string; dir: string; wit: string }> = {
  v2: { import: 'fermyon:spin/sqlite@2.0.0', dir: 'fermyon-spin-2', wit: SQLITE_V2_WIT },
  v1: { import: 'fermyon:spin/sqlite', dir: 'fermyon-spin', wit: SQLITE_UNVERSIONED_WIT },
  v3: { import: 'spin:sqlite/sqlite@3.0.0', dir: 'spin-sqlite-3', wit: SQLITE_V3_WIT },
};

/** Builds (once, cached by source) the SQLite guest for one interface version with componentize-js. */
export async function buildSqliteGuest(version: SqliteGuestVersion): Promise<string> {
  const source = `${ADAPTERS[version]}\n${ROUTES}`;
  const pkg = PACKAGES[version];
  const key = createHash('sha256').update(JSON.stringify([source, pkg])).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `sqlite-guest-${version}-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-sqliteguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    await mkdir(join(wit, 'deps', pkg.dir), { recursive: true });
    await writeFile(join(wit, 'deps', pkg.dir, 'package.wit'), pkg.wit);
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(join(wit, 'world.wit'), `${world}\nworld sqlite-guest {\n  include wasi:http/proxy@0.2.10;\n  import ${pkg.import};\n}\n`);
    await writeFile(join(work, 'index.js'), source);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'sqlite-guest', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
