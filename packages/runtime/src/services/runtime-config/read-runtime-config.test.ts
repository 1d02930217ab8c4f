import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRuntimeConfig, readRuntimeConfig, type RuntimeConfig } from './read-runtime-config.js';
import type { RuntimeConfigError } from '../../errors.js';

const CWD = '/srv/work';
const FILE = '/etc/spinel/runtime-config.toml';

function parse(text: string): RuntimeConfig {
  return parseRuntimeConfig(text, { cwd: CWD, file: FILE });
}

function failure(text: string): RuntimeConfigError {
  try {
    parse(text);
  } catch (err) {
    return err as RuntimeConfigError;
  }
  throw new Error('expected the runtime config to be refused');
}

/** Each section: a file Spinel accepts, and a mistake whose message names its line and column. */
const SECTIONS: Array<{ section: string; valid: string; check: (c: RuntimeConfig) => void; mistake: string; line: number; column: number; code: string; says: RegExp }> = [
  {
    section: 'state_dir',
    valid: 'state_dir = "state"',
    check: (c) => expect(c.stateDir).toBe('/srv/work/state'),
    mistake: '# comment\nstate_dir = 42',
    line: 2,
    column: 13,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`state_dir` must be a path \(or "" for none\), not integer 42/,
  },
  {
    section: 'log_dir',
    valid: 'log_dir = ""',
    check: (c) => expect(c.logDir).toBe(''),
    mistake: 'log_dir = ["logs"]',
    line: 1,
    column: 11,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`log_dir` must be a path/,
  },
  {
    section: 'max_instance_memory',
    valid: 'max_instance_memory = 10_000_000',
    check: (c) => expect(c.maxInstanceMemory).toBe(10_000_000),
    mistake: 'max_instance_memory = 1.5',
    line: 1,
    column: 23,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /must be an integer from 1 to \d+, not float 1.5/,
  },
  {
    section: 'key_value_store',
    valid: '[key_value_store.default]\ntype = "spin"\npath = "kv/data.db"\n\n[key_value_store.cache]\ntype = "redis"\nurl = "redis://127.0.0.1:6379"',
    check: (c) => {
      expect(c.keyValueStore?.get('default')).toEqual({ type: 'spin', path: '/etc/spinel/kv/data.db' });
      expect(c.keyValueStore?.get('cache')).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379' });
    },
    mistake: '[key_value_store.default]\ntype = "spin"\npth = "kv.db"',
    line: 3,
    column: 1,
    code: 'RUNTIME_CONFIG_UNKNOWN_KEY',
    says: /unknown key `pth` in `key_value_store.default`; allowed keys: path \(did you mean `path`\?\)/,
  },
  {
    section: 'sqlite_database',
    valid: '[sqlite_database.orders]\ntype = "spin"\npath = "data/orders.db"\nallow_attach_file = false',
    check: (c) => expect(c.sqliteDatabase?.get('orders')).toEqual({ type: 'spin', path: '/srv/work/data/orders.db', allowAttachFile: false }),
    mistake: '[sqlite_database.orders]\ntype = "spin"\nallow_attach_file = "no"',
    line: 3,
    column: 21,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`sqlite_database.orders.allow_attach_file` must be true or false, not string "no"/,
  },
  {
    section: 'variables_provider',
    valid: '[[variables_provider]]\ntype = "env"\nprefix = "MYAPP"\ndotenv_path = "app.env"\n\n[[variables_provider]]\ntype = "vault"\nurl = "http://127.0.0.1:8200"\ntoken = "t"\nmount = "secret"\nprefix = "app"',
    check: (c) =>
      expect(c.variablesProvider).toEqual([
        { type: 'env', prefix: 'MYAPP', dotenvPath: '/srv/work/app.env' },
        { type: 'vault', url: 'http://127.0.0.1:8200', token: 't', mount: 'secret', prefix: 'app' },
      ]),
    mistake: '[[variables_provider]]\ntype = "env"\n\n[[variables_provider]]\ntype = "vault"\nurl = "http://vault"\ntoken = "t"\nmount = "secret"\nnamespace = "x"',
    line: 9,
    column: 1,
    code: 'RUNTIME_CONFIG_UNKNOWN_KEY',
    says: /unknown key `namespace` in `variables_provider\[1\]`; allowed keys: url, token, mount, prefix/,
  },
  {
    section: 'config_provider',
    valid: '[[config_provider]]\ntype = "static"\nvalues = { region = "eu" }',
    check: (c) => expect(c.variablesProvider).toEqual([{ type: 'static', values: new Map([['region', 'eu']]) }]),
    mistake: '[[config_provider]]\ntype = "static"\nvalues = { region = 1 }',
    line: 3,
    column: 21,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`config_provider\[0\].values.region` must be a string, not an integer/,
  },
  {
    section: 'llm_compute',
    valid: '',
    check: (c) => expect(c).toEqual({ file: FILE }),
    mistake: 'state_dir = ".spin"\n\n[llm_compute]\ntype = "spin"',
    line: 3,
    column: 2,
    code: 'RUNTIME_CONFIG_UNSUPPORTED',
    says: /LLM inferencing \(fermyon:spin\/llm\) is not supported by Spinel/,
  },
  {
    section: 'outbound_networking',
    valid: '[outbound_networking]\nblock_networks = ["private", "1.1.1.1/32"]\nmax_socket_connections = 10\nmax_total_connections = 20',
    check: (c) => expect(c.outboundNetworking).toEqual({ blockNetworks: ['private', '1.1.1.1/32'], maxSocketConnections: 10, maxTotalConnections: 20 }),
    mistake: '[outbound_networking]\nblock_networks = ["private", "1.1.1.300/32"]',
    line: 2,
    column: 30,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /"1.1.1.300\/32" is not a network/,
  },
  {
    section: 'outbound_http',
    valid: '[outbound_http]\nconnection_pooling = false\nmax_connections = 0',
    check: (c) => expect(c.outboundHttp).toEqual({ connectionPooling: false, maxConnections: 0 }),
    mistake: '[outbound_http]\nmax_connections = -1',
    line: 2,
    column: 19,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`outbound_http.max_connections` must be a non-negative integer, not integer -1/,
  },
  {
    section: 'outbound_redis',
    valid: '[outbound_redis]\nmax_connections = 10',
    check: (c) => expect(c.outboundRedis).toEqual({ maxConnections: 10 }),
    mistake: '[outbound_redis]\nmax_connections = 10\nmax_conections = 3',
    line: 3,
    column: 1,
    code: 'RUNTIME_CONFIG_UNKNOWN_KEY',
    says: /max_conections/,
  },
  {
    section: 'outbound_pg',
    valid: '[outbound_pg]\nmax_connections = 4',
    check: (c) => expect(c.outboundPg).toEqual({ maxConnections: 4 }),
    mistake: '[outbound_pg]\nmax_connections = 0',
    line: 2,
    column: 19,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`outbound_pg.max_connections` must be an integer from 1/,
  },
  {
    section: 'outbound_mysql',
    valid: '[outbound_mysql]\nmax_connections = 2',
    check: (c) => expect(c.outboundMysql).toEqual({ maxConnections: 2 }),
    mistake: '[outbound_mysql]\nmax_connections = "2"',
    line: 2,
    column: 19,
    code: 'RUNTIME_CONFIG_INVALID',
    says: /`outbound_mysql.max_connections` must be an integer from 1/,
  },
  {
    section: 'outbound_mqtt',
    valid: '[outbound_mqtt]\nmax_connections = 3\nmax_payload_size_bytes = 1024',
    check: (c) => expect(c.outboundMqtt).toEqual({ maxConnections: 3, maxPayloadSizeBytes: 1024 }),
    mistake: '[outbound_mqtt]\nkeep_alive = 5',
    line: 2,
    column: 1,
    code: 'RUNTIME_CONFIG_UNKNOWN_KEY',
    says: /keep_alive/,
  },
  {
    section: 'client_tls',
    valid: '[[client_tls]]\ncomponent_ids = ["web"]\nhosts = ["api.example.com"]\nca_use_platform_roots = false\nca_roots_file = "ca.pem"\nclient_cert_file = "client.pem"\nclient_private_key_file = "client.key"',
    check: (c) =>
      expect(c.clientTls).toEqual([
        {
          componentIds: ['web'],
          hosts: ['api.example.com'],
          caUsePlatformRoots: false,
          caRootsFile: '/etc/spinel/ca.pem',
          clientCertFile: '/etc/spinel/client.pem',
          clientPrivateKeyFile: '/etc/spinel/client.key',
        },
      ]),
    mistake: '[[client_tls]]\ncomponent_ids = ["web"]\nhosts = ["api.example.com"]\ncert_chain = "client.pem"',
    line: 4,
    column: 1,
    code: 'RUNTIME_CONFIG_UNKNOWN_KEY',
    says: /unknown key `cert_chain` in `client_tls\[0\]`; allowed keys: component_ids, hosts, ca_use_platform_roots, ca_use_webpki_roots, ca_roots_file, client_cert_file, client_private_key_file/,
  },
];

describe('runtime config, section by section', () => {
  for (const s of SECTIONS) {
    it(`[${s.section}]: a valid file is read, a mistake is refused naming its line`, () => {
      s.check(parse(s.valid));
      const err = failure(s.mistake);
      expect(err.code).toBe(s.code);
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatchObject({ line: s.line, column: s.column });
      expect(err.message).toMatch(s.says);
      expect(err.message).toContain(`${FILE}:${s.line}:${s.column}: `);
      // The excerpt shows the line with a caret under the column.
      const excerpt = err.problems[0]?.excerpt ?? '';
      expect(excerpt).toMatch(new RegExp(`^${s.line} \\| `, 'm'));
      const caretLine = excerpt.split('\n').at(-1) ?? '';
      expect(caretLine.indexOf('^') - caretLine.indexOf('|') - 2).toBe(s.column - 1);
    });
  }
});

describe('runtime config', () => {
  it('refuses unknown top-level keys naming the allowed ones, as Spin\'s validate_all_keys_used', () => {
    const err = failure('state_dir = ".spin"\nstatedir = "x"\n');
    expect(err.code).toBe('RUNTIME_CONFIG_UNKNOWN_KEY');
    expect(err.message).toContain(`${FILE}:2:1: unknown key \`statedir\` in the runtime config; allowed keys: state_dir, log_dir, max_instance_memory, key_value_store, sqlite_database, variables_provider, config_provider, llm_compute, outbound_networking, outbound_http, outbound_redis, outbound_pg, outbound_mysql, outbound_mqtt, client_tls (did you mean \`state_dir\`?)`);
  });

  it('reports every problem at once, each with its own line', () => {
    const err = failure('a = 1\n[outbound_http]\nmax_connections = "x"\n[sqlite_database.db]\ntype = "libsql"\nurl = "https://x"\ntoken = "t"');
    expect(err.problems.map((p) => [p.code, p.line])).toEqual([
      ['RUNTIME_CONFIG_UNKNOWN_KEY', 1],
      ['RUNTIME_CONFIG_INVALID', 3],
      ['RUNTIME_CONFIG_UNSUPPORTED', 5],
    ]);
    expect(err.message).toMatch(/has 3 problems; fix them and start again/);
    expect(err.message).toMatch(/libSQL databases are not supported by Spinel/);
  });

  it('names unsupported types clearly and lists the supported ones for unknown types', () => {
    expect(failure('[[variables_provider]]\ntype = "azure_key_vault"\nvault_url = "https://x"').message).toMatch(/:2:8: `variables_provider\[0\]`: Azure Key Vault variables are not supported by Spinel/);
    expect(failure('[key_value_store.a]\ntype = "azure_cosmos"').code).toBe('RUNTIME_CONFIG_UNSUPPORTED');
    const unknown = failure('[key_value_store.a]\ntype = "mongo"');
    expect(unknown.code).toBe('RUNTIME_CONFIG_INVALID');
    expect(unknown.message).toMatch(/unknown `type` "mongo" in `key_value_store.a`; use "spin" or "redis"/);
    expect(failure('[sqlite_database.a]\npath = "x.db"').message).toMatch(/`sqlite_database.a` is missing `type` \("spin"\)/);
  });

  it('never shows secret values: tokens, static values, Redis URLs, misspelt keys', () => {
    const secrets = ['hvs.SECRET-TOKEN', 'static-secret', 'redis-password', 'typo-secret'];
    const texts = [
      '[[variables_provider]]\ntype = "vault"\nurl = "http://v"\nmount = "m"\ntoken = 7',
      '[[variables_provider]]\ntype = "vault"\nurl = "http://v"\nmount = "m"\ntoken = "hvs.SECRET-TOKEN"\ntokken = "hvs.SECRET-TOKEN"',
      '[[variables_provider]]\ntype = "static"\nvalues = { password = "static-secret", n = 1 }',
      '[key_value_store.x]\ntype = "redis"\nurl = "http://user:redis-password@host"',
      '[outbound_http]\nmax_connectionz = "typo-secret"',
      '[[variables_provider]]\ntype = "vault"\ntoken = "hvs.SECRET-TOKEN\nurl = "x"',
    ];
    for (const text of texts) {
      const err = failure(text);
      const shown = `${err.message}\n${JSON.stringify(err.problems)}`;
      for (const secret of secrets) expect(shown).not.toContain(secret);
    }
  });

  it('says where a file is not TOML', () => {
    const err = failure('state_dir = ".spin"\n[outbound_http\nmax_connections = 1');
    expect(err.code).toBe('RUNTIME_CONFIG_READ');
    expect(err.message).toMatch(new RegExp(`^${FILE}:2:\\d+: the runtime config is not valid TOML`));
  });

  it('refuses variables_provider and config_provider together', () => {
    const err = failure('[[variables_provider]]\ntype = "env"\n[[config_provider]]\ntype = "env"');
    expect(err.code).toBe('RUNTIME_CONFIG_UNKNOWN_KEY');
    expect(err.message).toMatch(/:3:3: `config_provider` is the old name of `variables_provider`/);
  });

  it('checks the keys that exclude or need each other', () => {
    expect(failure('[outbound_http]\nmax_connections = 1\nmax_concurrent_requests = 1').message).toMatch(/:3:1: .*cannot set both `max_connections` and `max_concurrent_requests`/);
    expect(failure('[[client_tls]]\ncomponent_ids = ["a"]\nhosts = ["h"]\nclient_cert_file = "c.pem"').message).toMatch(/:4:1: .*client_cert_file needs client_private_key_file/);
    expect(failure('[[client_tls]]\ncomponent_ids = []\nhosts = ["h"]').message).toMatch(/`client_tls\[0\].component_ids` must be a non-empty array of strings/);
  });

  it('reads a file from disk, resolving paths as Spin does (key-value and TLS against the file, the rest against the working directory)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spinel-rc-'));
    try {
      await writeFile(join(dir, 'rc.toml'), 'state_dir = "st"\n[key_value_store.a]\ntype = "spin"\npath = "a.db"\n[sqlite_database.b]\ntype = "spin"\npath = "b.db"\n');
      const config = await readRuntimeConfig('rc.toml', { cwd: dir });
      expect(config.file).toBe(join(dir, 'rc.toml'));
      expect(config.stateDir).toBe(join(dir, 'st'));
      const other = await readRuntimeConfig(join(dir, 'rc.toml'), { cwd: '/elsewhere' });
      expect(other.keyValueStore?.get('a')).toEqual({ type: 'spin', path: join(dir, 'a.db') });
      expect(other.sqliteDatabase?.get('b')).toEqual({ type: 'spin', path: '/elsewhere/b.db' });
      await expect(readRuntimeConfig(join(dir, 'missing.toml'), { cwd: dir })).rejects.toMatchObject({ code: 'RUNTIME_CONFIG_READ', message: expect.stringMatching(/no such file/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
