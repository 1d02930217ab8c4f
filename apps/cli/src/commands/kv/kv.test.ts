import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startRedis } from '@spinel/test-utils';
import type { RedisServer } from '@spinel/test-utils';
import { openSqliteKvDatabase } from '@spinel/kv-wit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// End-to-end: the built CLI (`pnpm --filter @spinel/cli build` first).
const exec = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../../bin/run.js');

let root: string;
let appDir: string;
let redis: RedisServer;

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
  root = await mkdtemp(join(tmpdir(), 'spinel-cli-kv-'));
  appDir = join(root, 'app');
  await mkdir(join(appDir, 'nested'), { recursive: true });
  await writeFile(join(appDir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "kv-app"\n');
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  await rm(root, { recursive: true, force: true });
});

vi.setConfig({ testTimeout: 240_000 });

describe('spinel kv', () => {
  it("sets, gets and deletes in the app's default store, .spin/sqlite_key_value.db", async () => {
    expect((await spinel(['kv', 'set', 'greeting', 'hello world'])).code).toBe(0);
    // Found from a subdirectory, as Spin looks for spin.toml upwards.
    const got = await spinel(['kv', 'get', 'greeting'], join(appDir, 'nested'));
    expect(got.code).toBe(0);
    expect(got.stdout).toBe('hello world');

    const db = openSqliteKvDatabase(join(appDir, '.spin', 'sqlite_key_value.db'));
    expect(new TextDecoder().decode(db.store('default').get('greeting'))).toBe('hello world');
    db.close();

    expect((await spinel(['kv', 'set', 'bin', '00ff00', '--encoding', 'hex', '-f', join(appDir, 'spin.toml')], root)).code).toBe(0);
    const hex = await spinel(['kv', 'get', 'bin', '--encoding', 'hex', '-f', appDir], root);
    expect(hex.stdout.trim()).toBe('00ff00');
    const json = JSON.parse((await spinel(['kv', 'get', 'bin', '--json'])).stdout) as { size: number; base64: string; text: string | null };
    expect(json).toMatchObject({ size: 3, base64: 'AP8A' });

    const deleted = JSON.parse((await spinel(['kv', 'delete', 'greeting', '--json'])).stdout) as { existed: boolean };
    expect(deleted.existed).toBe(true);
    const missing = await spinel(['kv', 'get', 'greeting']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Code: KV_NOT_FOUND');
  });

  it('lists keys a page at a time with a cursor, filtered by prefix', async () => {
    const stateDir = join(root, 'list-state');
    const kv = openSqliteKvDatabase(join(stateDir, 'sqlite_key_value.db'));
    const entries: Array<[string, Uint8Array]> = Array.from({ length: 25 }, (_, i) => [`user:${String(i).padStart(2, '0')}`, Uint8Array.of(0)]);
    kv.store('default').setMany([...entries, ['other', Uint8Array.of(0)]]);
    kv.close();

    const first = await spinel(['kv', 'list', '--state-dir', stateDir, '--prefix', 'user:', '--limit', '10']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(10);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = JSON.parse((await spinel(['kv', 'list', '--state-dir', stateDir, '--prefix', 'user:', '--limit', '10', '--cursor', cursor as string, '--json'])).stdout) as { keys: string[]; cursor: string | null };
    expect(second.keys).toHaveLength(10);
    expect(second.keys[0]).toBe('user:10');
    const all = JSON.parse((await spinel(['kv', 'list', '--state-dir', stateDir, '--all', '--limit', '7', '--json'])).stdout) as { keys: string[]; cursor: string | null };
    expect(all.keys).toHaveLength(26);
    expect(all.cursor).toBeNull();
  });

  it('uses stores from a runtime config file: spin with a relative path and redis', async () => {
    const configDir = join(root, 'config');
    await mkdir(configDir, { recursive: true });
    const config = join(configDir, 'runtime-config.toml');
    await writeFile(config, `[key_value_store.local]\ntype = "spin"\npath = "data/local.db"\n\n[key_value_store.shared]\ntype = "redis"\nurl = "${redis.url}"\n`);
    expect((await spinel(['kv', 'set', 'k', 'local value', '--store', 'local', '--runtime-config-file', config])).code).toBe(0);
    const db = openSqliteKvDatabase(join(configDir, 'data', 'local.db'));
    expect(new TextDecoder().decode(db.store('local').get('k'))).toBe('local value');
    expect(db.store('default').get('k')).toBeUndefined();
    db.close();

    expect((await spinel(['kv', 'set', 'r', 'in redis', '-s', 'shared', '--runtime-config-file', config])).code).toBe(0);
    expect((await spinel(['kv', 'get', 'r', '-s', 'shared', '--runtime-config-file', config])).stdout).toBe('in redis');
    const listed = JSON.parse((await spinel(['kv', 'list', '-s', 'shared', '--runtime-config-file', config, '--json'])).stdout) as { keys: string[] };
    expect(listed.keys).toEqual(['r']);
  });

  it('fails with coded errors for an undefined label, an unknown store type and no app', async () => {
    const unknownLabel = await spinel(['kv', 'get', 'k', '--store', 'nope']);
    expect(unknownLabel.code).toBe(1);
    expect(unknownLabel.stderr).toContain('Code: KV_UNKNOWN_LABEL');

    const bad = join(root, 'bad.toml');
    await writeFile(bad, '[key_value_store.cache]\ntype = "memcached"\n');
    const unknownType = await spinel(['kv', 'list', '--runtime-config-file', bad]);
    expect(unknownType.stderr).toContain("the store type 'memcached' was not registered");
    expect(unknownType.stderr).toContain('Code: KV_CONFIG_UNKNOWN_TYPE');

    const noApp = await spinel(['kv', 'list'], root);
    expect(noApp.code).toBe(1);
    expect(noApp.stderr).toContain('Code: KV_APP_NOT_FOUND');
  });
});
