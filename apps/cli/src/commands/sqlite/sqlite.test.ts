import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first).
const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');

let root: string;
let appDir: string;

async function spinel(args: string[], cwd = appDir): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cli-sqlite-'));
  appDir = join(root, 'app');
  await mkdir(join(appDir, 'nested'), { recursive: true });
  await writeFile(join(appDir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "sqlite-app"\n');
  await writeFile(join(appDir, 'schema.sql'), 'CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT, done REAL, data BLOB);\nINSERT INTO todos (title, done, data) VALUES (\'write tests\', 1, x\'00ff\');\n');
  await writeFile(join(appDir, 'runtime-config.toml'), '[sqlite_database.orders]\ntype = "spin"\npath = "data/orders.db"\n\n[sqlite_database.scratch]\ntype = "spin"\n');
});
afterAll(() => rm(root, { recursive: true, force: true }));

vi.setConfig({ testTimeout: 240_000 });

describe('spinel sqlite', () => {
  it("runs a script and queries the app's default database, .spin/sqlite_db.db", async () => {
    const done = await spinel(['sqlite', 'exec', '@schema.sql']);
    expect(done, done.stderr).toMatchObject({ code: 0, stdout: 'Done: 1 row(s) changed.\n' });
    await spinel(['sqlite', 'exec', "INSERT INTO todos (title) VALUES ('ship it')"]);
    // Found from a subdirectory, as Spin looks for spin.toml upwards.
    const table = await spinel(['sqlite', 'query', 'SELECT id, title, done, data FROM todos ORDER BY id'], join(appDir, 'nested'));
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(['id | title       | done | data', '---+-------------+------+--------', "1  | write tests | 1.0  | x'00ff'", '2  | ship it     | NULL | NULL', ''].join('\n'));
    const json = JSON.parse((await spinel(['sqlite', 'query', 'SELECT id, title, done, data, 9007199254740993 AS big FROM todos WHERE id = 1', '--json'])).stdout) as unknown;
    expect(json).toEqual({ database: 'default', columns: ['id', 'title', 'done', 'data', 'big'], rows: [[1, 'write tests', 1, { base64: 'AP8=' }, '9007199254740993']], changes: 0 });
    const db = new Database(join(appDir, '.spin', 'sqlite_db.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) FROM todos').pluck().get()).toBe(2);
    db.close();
  });

  it('reaches other labels through the runtime config', async () => {
    const cfg = ['--runtime-config-file', 'runtime-config.toml'];
    expect((await spinel(['sqlite', 'exec', '-d', 'orders', 'CREATE TABLE orders (n); INSERT INTO orders VALUES (1), (2)', ...cfg])).code).toBe(0);
    // Spin resolves [sqlite_database] paths against the working directory.
    const db = new Database(join(appDir, 'data', 'orders.db'), { readonly: true });
    expect(db.prepare('SELECT sum(n) FROM orders').pluck().get()).toBe(3);
    db.close();
    expect((await spinel(['sqlite', 'query', '-d', 'orders', 'SELECT sum(n) AS total FROM orders', ...cfg, '--json'])).stdout).toContain('"rows": [\n    [\n      3\n    ]');
  });

  it('fails with coded errors: bad SQL, unknown label, in-memory database, no app', async () => {
    const bad = await spinel(['sqlite', 'query', 'SELECT * FROM nowhere']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Error: no such table: nowhere\n[\s\S]*Code: RUNTIME_SQLITE_QUERY/);
    const unknown = await spinel(['sqlite', 'query', '-d', 'missing', 'SELECT 1']);
    expect(unknown.stderr).toMatch(/no database "missing".*pass it with --runtime-config-file[\s\S]*Code: SQLITE_UNKNOWN_DATABASE/);
    const memory = await spinel(['sqlite', 'query', '-d', 'scratch', 'SELECT 1', '--runtime-config-file', 'runtime-config.toml']);
    expect(memory.stderr).toMatch(/kept in memory[\s\S]*Code: SQLITE_IN_MEMORY/);
    const noApp = await spinel(['sqlite', 'query', 'SELECT 1'], root);
    expect(noApp.stderr).toMatch(/Code: SQLITE_APP_NOT_FOUND/);
    const badConfig = await spinel(['sqlite', 'query', 'SELECT 1', '--runtime-config-file', 'schema.sql']);
    expect(badConfig.stderr).toMatch(/not valid TOML[\s\S]*Code: RUNTIME_CONFIG_READ/);
    const json = JSON.parse((await spinel(['sqlite', 'exec', 'DROP TABLE nowhere', '--json'])).stdout) as { error: { code: string } };
    expect(json.error.code).toBe('RUNTIME_SQLITE_QUERY');
  });
});
