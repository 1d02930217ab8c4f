// `spinel up` with the capabilities flags: --variable, --key-value, --runtime-config-file.
// (What a guest does with them is tested end to end in @spinel/runtime's serve-capabilities test.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watComponent } from '@spinel/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, SPINEL_BIN, startUp } from '../../test-spinel.js';

// No SPIN_VARIABLE_WHO from the host: the tests decide where `who` comes from.
const hostEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SPIN_VARIABLE_WHO'));

afterEach(killSpinels);

const up = (args: string[], cwd: string): ReturnType<typeof startUp> => startUp(args, cwd, hostEnv);

function appDir(hello: string, component: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-caps-'));
  writeFileSync(
    join(dir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "caps"

[variables]
who = { required = true }

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = ${JSON.stringify(hello)}
${component}
[component.hello.variables]
greeting = "hello {{ who }}"
${extra}`,
  );
  return dir;
}

describe('spinel up capabilities flags', () => {
  let hello: string;
  beforeAll(async () => {
    hello = await watComponent('hello');
  }, 180_000);

  it('stops the start naming a required variable that has no value, and serves once --variable gives it', async () => {
    const dir = appDir(hello, '');
    const missing = await up([], dir);
    expect(missing.base).toBeUndefined();
    expect(await missing.exited).not.toBe(0);
    expect(missing.output()).toContain('who');
    const given = await up(['--variable', 'who=world'], dir);
    expect(given.base).toBeDefined();
    given.child.kill('SIGTERM');
    expect(await given.exited).toBe(0);
  }, 120_000);

  it('seeds the default store from --key-value into <state dir>/sqlite_key_value.db and says where it stores', async () => {
    const dir = appDir(hello, 'key_value_stores = ["default"]');
    const s = await up(['--variable', 'who=world', '--key-value', 'seeded=from-flag'], dir);
    expect(s.base).toBeDefined();
    expect(s.output()).toMatch(/Storing default key-value data to .*sqlite_key_value\.db/);
    expect(await (await fetch(`${s.base}/`)).text()).toBe('hello from wat\n');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(existsSync(join(dir, '.spin', 'sqlite_key_value.db'))).toBe(true);
    const read = spawnSync(process.execPath, [SPINEL_BIN, 'kv', 'get', 'seeded', '-f', dir], { cwd: dir, encoding: 'utf8' });
    expect(read.stdout).toBe('from-flag');
  }, 120_000);

  it('refuses an unlisted store label, and accepts it once --runtime-config-file defines it', async () => {
    const dir = appDir(hello, 'key_value_stores = ["extra"]');
    const refused = await up(['--variable', 'who=world'], dir);
    expect(refused.base).toBeUndefined();
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toContain('extra');
    writeFileSync(join(dir, 'runtime.toml'), '[key_value_store.extra]\ntype = "spin"\npath = "extra.db"\n');
    const accepted = await up(['--variable', 'who=world', '--runtime-config-file', 'runtime.toml'], dir);
    expect(accepted.base).toBeDefined();
    accepted.child.kill('SIGTERM');
    expect(await accepted.exited).toBe(0);
  }, 120_000);

  it('reports a runtime config file that is not TOML', async () => {
    const dir = appDir(hello, '');
    writeFileSync(join(dir, 'bad.toml'), '[key_value_store.extra\n');
    const s = await up(['--variable', 'who=world', '--runtime-config-file', 'bad.toml'], dir);
    expect(s.base).toBeUndefined();
    expect(await s.exited).not.toBe(0);
    expect(s.output()).toMatch(/bad\.toml:1:\d+: the runtime config is not valid TOML[\s\S]*Code: RUNTIME_CONFIG_READ/);
  }, 60_000);
});
