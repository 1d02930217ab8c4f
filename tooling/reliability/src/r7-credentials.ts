/**
 * R7 — credentials stay secret: one password is planted as the registry password, the Redis
 * password inside a runtime-config URL and a secret app variable; every CLI command then runs
 * (successes and failures, with --json, with debug logging on), and everything it printed and
 * every file it wrote (logs, locks, the cache, work directories) is scanned for the password.
 * The credential store itself must hold it with mode 0600, and lose it on logout.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, startRegistry, watComponent } from '@spinel/test-utils';
import { spinel, startUp } from './spinel-cli.js';
import type { CliRun } from './spinel-cli.js';
import { count, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

/** Every file under `dir` (links not followed). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const parent = (e as { parentPath?: string; path?: string }).parentPath ?? (e as { path?: string }).path ?? dir;
    out.push(join(parent, e.name));
  }
  return out;
}

export const r7: Suite = {
  id: 'R7',
  title: 'credentials never printed or logged',
  proves: 'a password planted as registry password, Redis URL password and secret variable appears in no output of any CLI command (successes, failures, --json, debug logging) and in no file spinel writes except the 0600 credential store, which loses it on logout',
  async run(profile: Profile): Promise<SuiteResult> {
    const secret = `r7planted${randomBytes(8).toString('hex')}`;
    const user = 'r7user';
    const needles = [secret, Buffer.from(`${user}:${secret}`).toString('base64'), Buffer.from(secret).toString('base64').replace(/=+$/, '')];
    const leaks = (text: string): boolean => needles.some((n) => text.includes(n));
    const problems: string[] = [];
    const root = await mkdtemp(join(tmpdir(), 'spinel-r7-'));
    const registry = await startRegistry({ auth: 'htpasswd', users: { [user]: secret } });
    const redis = await startRedis({ password: secret });
    const runs: CliRun[] = [];
    try {
      const home = join(root, 'home');
      const config = join(root, 'config');
      const app = join(root, 'app');
      await mkdir(home, { recursive: true });
      await mkdir(join(app, 'static'), { recursive: true });
      await copyFile(await watComponent('hello'), join(app, 'hello.wasm'));
      await writeFile(join(app, 'static', 'index.txt'), 'hello');
      await writeFile(
        join(app, 'spin.toml'),
        `spin_manifest_version = 2
[application]
name = "r7"
[variables]
secret_token = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "hello.wasm"
files = ["static/*"]
key_value_stores = ["default", "remote"]
[component.web.variables]
token = "{{ secret_token }}"
`,
      );
      const rc = join(root, 'runtime-config.toml');
      await writeFile(rc, `[key_value_store.remote]\ntype = "redis"\nurl = "redis://:${secret}@127.0.0.1:${redis.port}"\n`);
      const badRc = join(root, 'bad-runtime-config.toml');
      await writeFile(badRc, `[key_value_store.remote]\ntype = "redis"\nurl = "redis://:${secret}x@127.0.0.1:1"\n`);
      const baseEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: home, XDG_CONFIG_HOME: config, DOCKER_CONFIG: join(home, '.docker'), SPINEL_CACHE_DIR: join(root, 'cache'), NO_COLOR: '1' };
      const debugEnv: NodeJS.ProcessEnv = { ...baseEnv, DEBUG: 'spinel*', NODE_DEBUG: 'spinel-oci,spinel-oci-app,spinel-cache,spinel-manifest,spinel:runtime' };
      const ref = `${registry.host}/r7/app:v1`;
      const run = async (args: string[], options: { input?: string; debug?: boolean; expect?: 'ok' | 'fail' } = {}): Promise<void> => {
        const r = await spinel(args, { cwd: root, env: options.debug === true ? debugEnv : baseEnv, ...(options.input === undefined ? {} : { input: options.input }) });
        runs.push(r);
        if (options.expect === 'ok' && r.code !== 0) problems.push(`spinel ${args.join(' ')} failed (${String(r.code)}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
        if (options.expect === 'fail' && r.code === 0) problems.push(`spinel ${args.join(' ')} succeeded but should have failed`);
      };
      const serve = async (args: string[], debug = false): Promise<void> => {
        const up = await startUp(args, { cwd: root, env: debug ? debugEnv : baseEnv }).catch((err: unknown) => {
          const lines = (err as Error).message.split('\n').filter((l) => l.trim() !== '');
          problems.push([lines[0], ...lines.slice(1).slice(-4)].join(' / '));
          return undefined;
        });
        if (up === undefined) return;
        const answer = await fetch(`${up.baseUrl}/`).then((r) => r.text(), (err: unknown) => String(err));
        if (leaks(answer)) problems.push(`the guest's answer to spinel up ${args.join(' ')} holds the password`);
        runs.push(await up.stop());
      };

      // Registry credentials: wrong password, login, push, pull, run from the registry, logout.
      await run(['registry', 'login', '-u', user, '--password-stdin', registry.host], { input: `${secret}-wrong\n`, expect: 'fail' });
      await run(['registry', 'login', '-u', user, '-p', `${secret}-wrong`, registry.host, '--json'], { expect: 'fail' });
      await run(['registry', 'login', '-u', user, '--password-stdin', registry.host], { input: `${secret}\n`, expect: 'ok' });
      await run(['registry', 'login', '-u', user, '--password-stdin', registry.host, '--json'], { input: `${secret}\n`, expect: 'ok', debug: true });
      const store = join(config, 'spinel', 'registry-auth.json');
      const mode = (await stat(store).catch(() => undefined))?.mode;
      if (mode === undefined || (mode & 0o077) !== 0) problems.push(`the credential store ${store} is ${mode === undefined ? 'missing' : `mode ${(mode & 0o777).toString(8)}`}, not 0600`);
      await run(['lock', '-f', app], { expect: 'ok' });
      await run(['doctor', '-f', app]);
      await run(['build', '-f', app], { expect: 'ok' });
      await run(['registry', 'push', '-f', app, ref], { expect: 'ok', debug: true });
      await run(['registry', 'push', '-f', app, ref, '--json'], { expect: 'ok' });
      await run(['registry', 'pull', ref], { expect: 'ok', debug: true });
      await run(['registry', 'pull', ref, '--json'], { expect: 'ok' });

      // Serving: the secret variable, the Redis password in the runtime config, a key-value seed.
      const state = join(root, 'state');
      await serve(['-f', app, '--listen', '127.0.0.1:0', '--variable', `secret_token=${secret}`, '--runtime-config-file', rc, '--state-dir', state, '--key-value', 'k=v', '--temp', join(root, 'up-temp')]);
      await serve(['-f', app, '--listen', '127.0.0.1:0', '--variable', `secret_token=${secret}`, '--runtime-config-file', rc, '--state-dir', state], true);
      if (profile === 'full') await serve(['-f', ref, '--listen', '127.0.0.1:0', '--state-dir', join(root, 'state-ref'), '--variable', `secret_token=${secret}`, '--runtime-config-file', rc, '--temp', join(root, 'up-ref-temp')]);
      // A Redis URL with a wrong password and no server: the refusal must not quote it.
      await run(['up', '-f', app, '--listen', '127.0.0.1:0', '--variable', `secret_token=${secret}`, '--runtime-config-file', badRc, '--state-dir', state], { expect: 'fail' });

      // Key-value and SQLite tools against the same stores.
      await run(['kv', 'set', 'a', 'b', '--store', 'remote', '--runtime-config-file', rc, '-f', app], { expect: 'ok' });
      await run(['kv', 'get', 'a', '--store', 'remote', '--runtime-config-file', rc, '-f', app], { expect: 'ok' });
      await run(['kv', 'list', '--store', 'remote', '--runtime-config-file', rc, '-f', app, '--json'], { expect: 'ok' });
      await run(['kv', 'delete', 'a', '--store', 'remote', '--runtime-config-file', rc, '-f', app], { expect: 'ok' });
      await run(['kv', 'get', 'a', '--store', 'remote', '--runtime-config-file', badRc, '-f', app], { expect: 'fail' });
      await run(['sqlite', 'query', 'SELECT 1', '-f', app, '--state-dir', state]);

      // Cache maintenance, then logout; afterwards the store no longer holds the password and the registry refuses us.
      for (const args of [['cache', 'dir'], ['cache', 'list'], ['cache', 'size', '--json'], ['cache', 'verify']]) await run(args, { expect: 'ok' });
      await run(['registry', 'logout', registry.host], { expect: 'ok' });
      if (leaks(await readFile(store, 'utf8').catch(() => ''))) problems.push('the credential store still holds the password after logout');
      await run(['registry', 'push', '-f', app, ref], { expect: 'fail' });
      await run(['registry', 'pull', ref, '--json'], { expect: 'fail', debug: true });

      // What was printed.
      for (const r of runs) {
        if (leaks(r.stdout)) problems.push(`stdout of spinel ${r.args.join(' ')} holds the password`);
        if (leaks(r.stderr)) problems.push(`stderr of spinel ${r.args.join(' ')} holds the password`);
      }
      // What was written: every file spinel left, except our own inputs and the credential store checked above.
      const own = new Set([rc, badRc, store]);
      const files = (await filesUnder(root)).filter((f) => !own.has(f));
      for (const file of files) {
        const content = await readFile(file).catch(() => Buffer.alloc(0));
        if (leaks(content.toString('latin1'))) problems.push(`${file.slice(root.length + 1)} holds the password`);
      }
      const commands = new Set(runs.map((r) => r.args.filter((a) => /^[a-z]+$/.test(a)).slice(0, 2).join(' ')));
      return result(
        this,
        `${count(runs.length)} CLI runs (${commands.size} commands; successes, failures, --json, debug logging) and ${count(files.length)} files written: 0 occurrences of the planted password expected, ${problems.filter((p) => p.includes('holds the password')).length} found; credential store 0600 and emptied on logout`,
        // Commands are quoted in the report with the planted password shown as <password>.
        problems.map((p) => p.replaceAll(secret, '<password>')),
      );
    } finally {
      await redis.stop();
      await registry.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
