import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKvRuntimeConfigToml, readKvRuntimeConfig } from './runtime-config.js';
import { createKvStoreManager } from './store-manager.js';

describe('key_value_store runtime config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-kv-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads spin and redis stores, resolving relative paths against the config file directory', async () => {
    const file = join(dir, 'conf', 'runtime-config.toml');
    await rm(join(dir, 'conf'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'conf')));
    await writeFile(file, `
state_dir = "elsewhere"
[key_value_store.default]
type = "spin"
path = "data/default.db"

[key_value_store.absolute]
type = "spin"
path = "/var/lib/kv.db"

[key_value_store.scratch]
type = "spin"

[key_value_store.shared]
type = "redis"
url = "redis://user:secret@127.0.0.1:6379/2"
`);
    const defs = await readKvRuntimeConfig(file);
    expect(Object.fromEntries(defs)).toEqual({
      default: { type: 'spin', path: join(dir, 'conf', 'data', 'default.db') },
      absolute: { type: 'spin', path: '/var/lib/kv.db' },
      scratch: { type: 'spin', path: undefined },
      shared: { type: 'redis', url: 'redis://user:secret@127.0.0.1:6379/2' },
    });
    const manager = createKvStoreManager({ definitions: defs, stateDir: join(dir, 'state') });
    expect(manager.describe('shared')).not.toContain('secret');
    expect(manager.describe('scratch')).toBe('a temporary in-memory store');
    expect(manager.isSync('shared')).toBe(false);
    expect(() => manager.syncStore('shared')).toThrow(expect.objectContaining({ code: 'KV_INVALID_ARGUMENT' }));
    await manager.close();
  });

  it('names an unknown store type in a coded error', () => {
    const run = () => parseKvRuntimeConfigToml('[key_value_store.cache]\ntype = "memcached"\n', { baseDir: dir });
    expect(run).toThrow(expect.objectContaining({ code: 'KV_CONFIG_UNKNOWN_TYPE', type: 'memcached', label: 'cache' }));
    expect(run).toThrow("could not configure key-value store with label 'cache': the store type 'memcached' was not registered with the config resolver");
  });

  it('refuses missing types, unknown fields, bad urls and bad TOML with KV_CONFIG_INVALID', () => {
    const bad = [
      '[key_value_store.a]\npath = "x"\n',
      '[key_value_store.a]\ntype = "spin"\npaht = "typo.db"\n',
      '[key_value_store.a]\ntype = "redis"\n',
      '[key_value_store.a]\ntype = "redis"\nurl = "http://nope"\n',
      'key_value_store = 3\n',
      '[key_value_store\n',
    ];
    for (const text of bad) {
      expect(() => parseKvRuntimeConfigToml(text, { baseDir: dir }), text).toThrow(expect.objectContaining({ code: 'KV_CONFIG_INVALID' }));
    }
    expect(() => parseKvRuntimeConfigToml('[key_value_store.a]\ntype = "spin"\npaht = "typo.db"\n', { baseDir: dir })).toThrow(/`paht`/);
  });

  it('has a built-in default in the state dir, created only when used, and replaceable', async () => {
    const stateDir = join(dir, 'app', '.spin');
    const manager = createKvStoreManager({ stateDir });
    expect(manager.labels).toEqual(['default']);
    expect(manager.describe('default')).toBe(JSON.stringify(join(stateDir, 'sqlite_key_value.db')));
    await expect(import('node:fs/promises').then((fs) => fs.access(stateDir))).rejects.toThrow();
    manager.syncStore('default').set('k', Uint8Array.of(1));
    await import('node:fs/promises').then((fs) => fs.access(join(stateDir, 'sqlite_key_value.db')));
    expect(() => manager.store('missing')).toThrow(expect.objectContaining({ code: 'KV_UNKNOWN_LABEL' }));
    manager.checkComponentLabels('web', ['default']);
    expect(() => manager.checkComponentLabels('web', ['default', 'cache'])).toThrow('unknown key_value_stores label "cache" for component "web"');
    await manager.close();

    const inMemory = createKvStoreManager({});
    expect(inMemory.describe('default')).toBe('a temporary in-memory store');
    const replaced = createKvStoreManager({ stateDir, definitions: parseKvRuntimeConfigToml('[key_value_store.default]\ntype = "spin"\n', { baseDir: dir }) });
    expect(replaced.describe('default')).toBe('a temporary in-memory store');
    await inMemory.close();
    await replaced.close();
  });

  it('shares one SQLite file between labels configured with the same path, partitioned by label', async () => {
    const defs = parseKvRuntimeConfigToml('[key_value_store.a]\ntype = "spin"\npath = "same.db"\n[key_value_store.b]\ntype = "spin"\npath = "same.db"\n', { baseDir: dir });
    const manager = createKvStoreManager({ definitions: defs });
    await manager.store('a').set('k', Uint8Array.of(1));
    expect(await manager.store('b').get('k')).toBeUndefined();
    await manager.store('b').set('k', Uint8Array.of(2));
    expect([...(await manager.store('a').get('k')) ?? []]).toEqual([1]);
    await manager.close();
  });
});
