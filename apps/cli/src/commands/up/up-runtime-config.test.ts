// `spinel up --runtime-config-file`: a mistake stops the start naming its line; state_dir,
// log_dir and max_instance_memory apply unless a flag says otherwise; RUNTIME_CONFIG_FILE is
// read as Spin reads it; [[variables_provider]]s answer variables, Vault among them.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watComponent } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, startUp, stopSpinel } from '../../test-spinel.js';

// The host's own settings must not leak into these tests.
const hostEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SPIN_VARIABLE_|RUNTIME_CONFIG_FILE$|SPIN_RUNTIME_CONFIG_FILE$|SPIN_MAX_INSTANCE_MEMORY$|SPIN_LOG_DIR$)/.test(k)));

const dirs: string[] = [];
afterEach(killSpinels);
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Started = Awaited<ReturnType<typeof startUp>>;

const up = (args: string[], cwd: string, env: Record<string, string> = {}): Promise<Started> => startUp(args, cwd, { ...hostEnv, ...env });

async function refused(s: Started): Promise<string> {
  expect(s.base, s.output()).toBeUndefined();
  expect(await s.exited).not.toBe(0);
  return s.output();
}

async function stop(s: Started): Promise<void> {
  expect(s.base, s.output()).toBeDefined();
  expect(await stopSpinel(s)).toBe(0);
}

function app(source: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-rc-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "rc"
${extra}
[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = ${JSON.stringify(source)}
key_value_stores = ["default"]
`,
  );
  return dir;
}

describe('spinel up --runtime-config-file', () => {
  let hello: string;
  let grow: string;
  beforeAll(async () => {
    hello = await watComponent('hello');
    grow = await watComponent('grow');
  }, 180_000);

  it('refuses a mistake at start naming the file, line and column and the allowed keys; unsupported sections say so', async () => {
    const dir = app(hello);
    writeFileSync(join(dir, 'rc.toml'), 'state_dir = "st"\n\n[outbound_http]\nconnection_pooling = true\nmax_conections = 4\n');
    const out = await refused(await up(['--runtime-config-file', 'rc.toml'], dir));
    expect(out).toContain(`${join(dir, 'rc.toml')}:5:1: unknown key \`max_conections\` in \`outbound_http\`; allowed keys: connection_pooling, max_connections, max_concurrent_requests (did you mean \`max_connections\`?)`);
    expect(out).toContain('5 | max_conections = 4');
    expect(out).toContain('Code: RUNTIME_CONFIG_UNKNOWN_KEY');
    writeFileSync(join(dir, 'llm.toml'), '[llm_compute]\ntype = "remote_http"\nurl = "http://127.0.0.1:1"\nauth_token = "secret-llm-token"\n');
    const llm = await refused(await up(['--runtime-config-file', 'llm.toml'], dir));
    expect(llm).toMatch(/llm\.toml:1:2: `llm_compute`: LLM inferencing \(fermyon:spin\/llm\) is not supported by Spinel/);
    expect(llm).toContain('Code: RUNTIME_CONFIG_UNSUPPORTED');
    expect(llm).not.toContain('secret-llm-token');
  }, 120_000);

  it('reads RUNTIME_CONFIG_FILE (Spin\'s variable), not SPIN_RUNTIME_CONFIG_FILE; the flag wins', async () => {
    const dir = app(hello);
    writeFileSync(join(dir, 'bad.toml'), 'nonsense = 1\n');
    writeFileSync(join(dir, 'good.toml'), 'state_dir = "from-config"\n');
    expect(await refused(await up([], dir, { RUNTIME_CONFIG_FILE: 'bad.toml' }))).toContain('bad.toml:1:1: unknown key `nonsense`');
    await stop(await up([], dir, { SPIN_RUNTIME_CONFIG_FILE: 'bad.toml' }));
    await stop(await up(['--runtime-config-file', 'good.toml'], dir, { RUNTIME_CONFIG_FILE: 'bad.toml' }));
  }, 120_000);

  it('state_dir and log_dir apply unless --state-dir / --log-dir say otherwise', async () => {
    const dir = app(hello);
    writeFileSync(join(dir, 'rc.toml'), 'state_dir = "config-state"\nlog_dir = "config-logs"\n');
    const fromConfig = await up(['--runtime-config-file', 'rc.toml', '--key-value', 'k=v'], dir);
    expect(fromConfig.output()).toContain('Logging component stdio to "config-logs/"');
    await stop(fromConfig);
    expect(existsSync(join(dir, 'config-state', 'sqlite_key_value.db'))).toBe(true);
    expect(existsSync(join(dir, '.spin'))).toBe(false);
    const fromFlags = await up(['--runtime-config-file', 'rc.toml', '--state-dir', 'flag-state', '--log-dir', 'flag-logs', '--key-value', 'k=v'], dir);
    expect(fromFlags.output()).toContain('Logging component stdio to "flag-logs/"');
    await stop(fromFlags);
    expect(existsSync(join(dir, 'flag-state', 'sqlite_key_value.db'))).toBe(true);
    writeFileSync(join(dir, 'none.toml'), 'state_dir = ""\n');
    const none = await up(['--runtime-config-file', 'none.toml'], dir);
    expect(none.output()).toContain('Storing default key-value data to a temporary in-memory store.');
    expect(none.output()).not.toContain('Logging component stdio');
    await stop(none);
  }, 180_000);

  it('max_instance_memory caps guest memory unless --max-instance-memory says otherwise', async () => {
    const dir = app(grow);
    // The guest starts with two 64 KiB pages and grows one more, answering how many it has.
    writeFileSync(join(dir, 'rc.toml'), 'max_instance_memory = 131072\n');
    const capped = await up(['--runtime-config-file', 'rc.toml'], dir);
    expect(await (await fetch(`${capped.base}/`)).text()).toBe('2');
    await stop(capped);
    const flag = await up(['--runtime-config-file', 'rc.toml', '--max-instance-memory', '1048576'], dir);
    expect(await (await fetch(`${flag.base}/`)).text()).toBe('3');
    await stop(flag);
  }, 120_000);

  describe('[[variables_provider]]', () => {
    // Vault cannot be installed here: this loopback server answers as Vault's documented KV v2
    // API does (GET /v1/<mount>/data/<path>, X-Vault-Token, the secret under data.data).
    const TOKEN = 'hvs.cli-test-token';
    let vault: Server;
    let vaultUrl: string;
    beforeAll(async () => {
      vault = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        if (req.headers['x-vault-token'] !== TOKEN) return res.writeHead(403).end('{"errors":["permission denied"]}');
        if (req.url === '/v1/secret/data/app/who') return res.end(JSON.stringify({ data: { data: { value: 'from-vault' }, metadata: { version: 1 } } }));
        res.writeHead(404).end('{"errors":[]}');
      });
      await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
      vaultUrl = `http://127.0.0.1:${(vault.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => vault.close(resolve)));

    it('static and Vault providers give a required variable its value; a refused token stops the start without showing it', async () => {
      const dir = app(hello, '[variables]\nwho = { required = true }\n');
      expect(await refused(await up([], dir))).toContain('Code: RUNTIME_VARIABLE_REQUIRED');
      writeFileSync(join(dir, 'static.toml'), '[[variables_provider]]\ntype = "static"\nvalues = { who = "from-static" }\n');
      await stop(await up(['--runtime-config-file', 'static.toml'], dir));
      writeFileSync(join(dir, 'vault.toml'), `[[variables_provider]]\ntype = "vault"\nurl = "${vaultUrl}"\ntoken = "${TOKEN}"\nmount = "secret"\nprefix = "app"\n`);
      await stop(await up(['--runtime-config-file', 'vault.toml'], dir));
      writeFileSync(join(dir, 'wrong.toml'), `[[config_provider]]\ntype = "vault"\nurl = "${vaultUrl}"\ntoken = "wrong-secret-token"\nmount = "secret"\n`);
      const wrong = await refused(await up(['--runtime-config-file', 'wrong.toml'], dir));
      expect(wrong).toMatch(/refused variable "who": HTTP 403 \(permission denied\)[\s\S]*Code: RUNTIME_VARIABLE_PROVIDER/);
      expect(wrong).not.toContain('wrong-secret-token');
    }, 180_000);
  });
});
