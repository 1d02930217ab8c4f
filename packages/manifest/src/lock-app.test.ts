import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { serializeLockedApp } from './locked-app.js';
import { lockManifestFile } from './read-manifest.js';
import { expectInvalid, makeApp, WASM_BYTES } from './test-helpers.js';

const ZERO = `sha256:${'0'.repeat(64)}`;

async function lock(files: Record<string, string | Uint8Array>, opts: { directMounts?: boolean; profile?: string; resolver?: boolean } = {}) {
  const app = makeApp(files);
  const work = mkdtempSync(join(tmpdir(), 'spinel-work-'));
  const locked = await lockManifestFile(join(app, 'spin.toml'), {
    workingDir: work,
    ...(opts.directMounts === undefined ? {} : { directMounts: opts.directMounts }),
    ...(opts.profile === undefined ? {} : { profile: opts.profile }),
    ...(opts.resolver === false ? {} : { resolver: async (_url: string, digest: string) => ({ path: `/cache/registry/wasm/${digest}` }) }),
  });
  const json = serializeLockedApp(locked)
    .replaceAll(pathToFileURL(app).href, 'file://<app>')
    .replaceAll(pathToFileURL(work).href, 'file://<work>');
  return { json, app, work, locked };
}

describe('lockApp: Spin loader cases', () => {
  it('locks a v1 app (three components, a URL source, executor, environment) as Spin does', async () => {
    const { json } = await lock({
      'spin.toml': `spin_version = "1"
authors = ["Ada", "Grace"]
description = "Counts things"
name = "counter"
trigger = { type = "http" }
version = "1.2.3"

[[component]]
id = "first"
source = "bin/one.wasm"
[component.trigger]
executor = { type = "http" }
route = "/first"
[component.environment]
B_VAR = "two"
A_VAR = "one"

[[component]]
id = "second"
source = "bin/one.wasm"
[component.trigger]
route = "/second"

[[component]]
id = "remote"
[component.source]
url = "https://example.com/remote.wasm"
digest = "${ZERO}"
[component.trigger]
route = "/remote/..."
`,
      'bin/one.wasm': WASM_BYTES,
    });
    const dbHosts = { allowed_outbound_hosts: ['redis://*:*', 'mysql://*:*', 'postgres://*:*'] };
    expect(json).toBe(
      JSON.stringify(
        {
          spin_lock_version: 0,
          metadata: {
            authors: ['Ada', 'Grace'],
            description: 'Counts things',
            name: 'counter',
            origin: 'file://<app>/spin.toml',
            trigger: { type: 'http' },
            triggers: { http: {} },
            version: '1.2.3',
          },
          triggers: [
            { id: 'trigger-first', trigger_type: 'http', trigger_config: { component: 'first', executor: { type: 'http' }, route: '/first' } },
            { id: 'trigger-second', trigger_type: 'http', trigger_config: { component: 'second', route: '/second' } },
            { id: 'trigger-remote', trigger_type: 'http', trigger_config: { component: 'remote', route: '/remote/...' } },
          ],
          components: [
            { id: 'first', metadata: dbHosts, source: { content_type: 'application/wasm', source: 'file://<app>/bin/one.wasm' }, env: { A_VAR: 'one', B_VAR: 'two' } },
            { id: 'second', metadata: dbHosts, source: { content_type: 'application/wasm', source: 'file://<app>/bin/one.wasm' } },
            { id: 'remote', metadata: dbHosts, source: { content_type: 'application/wasm', source: `file:///cache/registry/wasm/${ZERO}` } },
          ],
        },
        null,
        2,
      ),
    );
  });

  it('locks v2 service chaining with the component host requirement', async () => {
    const { json } = await lock({
      'spin.toml': `spin_manifest_version = 2
[application]
name = "chain"

[[trigger.http]]
route = "/front"
component = "front"

[[trigger.http]]
route = { private = true }
component = "back"

[component.front]
source = "front.wasm"
allowed_outbound_hosts = ["http://back.spin.internal"]

[component.back]
source = "back.wasm"
`,
    });
    expect(JSON.parse(json)).toEqual({
      spin_lock_version: 1,
      must_understand: ['component_host_requirements'],
      metadata: { name: 'chain', origin: 'file://<app>/spin.toml', trigger: { type: 'http' }, triggers: {} },
      triggers: [
        { id: 'front-http-trigger', trigger_type: 'http', trigger_config: { component: 'front', route: '/front' } },
        { id: 'back-http-trigger', trigger_type: 'http', trigger_config: { component: 'back', route: { private: true } } },
      ],
      components: [
        {
          id: 'front',
          metadata: { allowed_outbound_hosts: ['http://back.spin.internal'] },
          source: { content_type: 'application/wasm', source: 'file://<app>/front.wasm' },
          host_requirements: { local_service_chaining: 'required' },
        },
        { id: 'back', source: { content_type: 'application/wasm', source: 'file://<app>/back.wasm' } },
      ],
    });
    expect(json.indexOf('"must_understand"')).toBeLessThan(json.indexOf('"metadata"'));
  });

  it('copies files into <work>/assets/<id> with a single mount (v1 "**/*", wagi entrypoint kept)', async () => {
    const { json, work } = await lock({
      'spin.toml': `spin_version = "1"
name = "files"
trigger = { type = "http" }
version = "1.0.0"

[[component]]
files = ["**/*"]
id = "fs"
source = "fs.wasm"
[component.trigger]
route = "/..."
executor = { type = "wagi", entrypoint = "main" }
`,
      'fs.wasm': WASM_BYTES,
      'static/letters/a': 'a',
      'static/numbers/1': '1',
    });
    const parsed = JSON.parse(json);
    expect(parsed.components[0].files).toEqual([{ source: 'file://<work>/assets/fs', path: '/' }]);
    expect(parsed.triggers[0].trigger_config.executor).toEqual({ entrypoint: 'main', type: 'wagi' });
    expect(readFileSync(join(work, 'assets/fs/static/letters/a'), 'utf8')).toBe('a');
    expect(readFileSync(join(work, 'assets/fs/static/numbers/1'), 'utf8')).toBe('1');
    expect(existsSync(join(work, 'assets/fs/spin.toml'))).toBe(true);
  });

  it('insecure:allow-all in allowed_http_hosts allows everything (v1)', async () => {
    const { locked } = await lock({
      'spin.toml': `spin_version = "1"
name = "x"
trigger = { type = "http" }
[[component]]
id = "hello"
source = "a.wasm"
allowed_http_hosts = ["insecure:allow-all", "random-data-api.fermyon.app"]
[component.trigger]
route = "/hello"
`,
    });
    expect(locked.components[0]?.metadata?.allowed_outbound_hosts).toEqual([
      'redis://*:*',
      'mysql://*:*',
      'postgres://*:*',
      'http://*:*',
      'https://*:*',
      'http://self',
    ]);
  });
});

describe('lockApp: v2 features', () => {
  const MAXI = `spin_manifest_version = 2

[application]
name = "maxi"
version = "0.1.0"
description = "everything"
authors = ["A"]
[application.trigger.redis]
address = "redis://localhost:6379"

[variables]
api_host = { default = "api.example.com" }
token = { required = true, secret = true, description = "API token" }

[[trigger.http]]
route = "/static"
static_response = { status_code = 404, headers = { "x-why" = "because" }, body = "nope" }

[[trigger.http]]
id = "cgi"
route = "/cgi/..."
component = { source = "cgi.wasm", description = "inline" }
executor = { type = "wagi", argv = "\${SCRIPT_NAME} x" }

[[trigger.http]]
route = "/api/:id"
component = "api"

[[trigger.redis]]
channel = "events"
component = "api"

[component.api]
source = "api.wasm"
description = "The API"
key_value_stores = ["default", "cache_store"]
sqlite_databases = ["default"]
ai_models = ["llama2-chat"]
allowed_outbound_hosts = ["https://{{ api_host }}", "redis://localhost:6379"]
environment = { MODE = "prod" }
files = [{ source = "assets", destination = "/data" }, "top.txt", "glob/*.md"]
exclude_files = ["**/*.tmp"]
[component.api.variables]
token = "{{ token }}"
url = "https://{{ api_host }}/v1"
[component.api.build]
command = ["make a", "make b"]
workdir = "api"
watch = ["src/**/*.rs"]
[component.api.dependencies]
"local:dep/iface" = { path = "dep.wasm", inherit_configuration = ["ai_models"] }
"remote:dep" = { url = "https://example.com/dep.wasm", digest = "${ZERO}" }
"other:dep/x" = { component = "helper", export = "x", inherit_configuration = true }

[component.helper]
source = "helper.wasm"
[component.helper.profile.debug]
source = "helper-debug.wasm"
environment = { DEBUG = "1" }
build.command = "make debug"
`;
  const FILES = {
    'spin.toml': MAXI,
    'assets/one.txt': '1',
    'assets/sub/two.txt': '2',
    'assets/skip.tmp': 'x',
    'top.txt': 'top',
    'glob/a.md': 'a',
    'glob/b.txt': 'b',
  };

  it('locks static responses, inline components, variables, metadata, files and dependencies', async () => {
    const { json, work } = await lock(FILES);
    const app = JSON.parse(json);
    expect(app.spin_lock_version).toBe(0);
    expect(app.metadata).toEqual({
      authors: ['A'],
      description: 'everything',
      name: 'maxi',
      origin: 'file://<app>/spin.toml',
      triggers: { redis: { address: 'redis://localhost:6379' } },
      version: '0.1.0',
    });
    expect(app.variables).toEqual({ api_host: { default: 'api.example.com' }, token: { description: 'API token', secret: true } });
    expect(app.triggers).toEqual([
      { id: 'http-trigger1', trigger_type: 'http', trigger_config: { route: '/static', static_response: { body: 'nope', headers: { 'x-why': 'because' }, status_code: 404 } } },
      { id: 'cgi', trigger_type: 'http', trigger_config: { component: 'cgi-component', executor: { argv: '${SCRIPT_NAME} x', type: 'wagi' }, route: '/cgi/...' } },
      { id: 'api-http-trigger', trigger_type: 'http', trigger_config: { component: 'api', route: '/api/:id' } },
      { id: 'api-redis-trigger', trigger_type: 'redis', trigger_config: { channel: 'events', component: 'api' } },
    ]);
    const api = app.components.find((c: { id: string }) => c.id === 'api');
    expect(api).toEqual({
      id: 'api',
      metadata: {
        ai_models: ['llama2-chat'],
        allowed_outbound_hosts: ['https://{{ api_host }}', 'redis://localhost:6379'],
        build: { command: ['make a', 'make b'], watch: ['src/**/*.rs'], workdir: 'api' },
        databases: ['default'],
        description: 'The API',
        key_value_stores: ['default', 'cache_store'],
      },
      source: { content_type: 'application/wasm', source: 'file://<app>/api.wasm' },
      env: { MODE: 'prod' },
      files: [{ source: 'file://<work>/assets/api', path: '/' }],
      config: { token: '{{ token }}', url: 'https://{{ api_host }}/v1' },
      dependencies: {
        'local:dep/iface': { source: { content_type: 'application/wasm', source: 'file://<app>/dep.wasm' }, export: null, inherit: { Some: ['ai_models'] } },
        'other:dep/x': { source: { content_type: 'application/wasm', source: 'file://<app>/helper.wasm' }, export: 'x', inherit: 'All' },
        'remote:dep': { source: { content_type: 'application/wasm', source: `file:///cache/registry/wasm/${ZERO}` }, export: null },
      },
    });
    expect(app.components.map((c: { id: string }) => c.id)).toEqual(['api', 'helper', 'cgi-component']);
    expect(app.components[2].metadata).toEqual({ description: 'inline' });
    expect(readFileSync(join(work, 'assets/api/data/one.txt'), 'utf8')).toBe('1');
    expect(readFileSync(join(work, 'assets/api/data/sub/two.txt'), 'utf8')).toBe('2');
    expect(existsSync(join(work, 'assets/api/data/skip.tmp'))).toBe(false);
    expect(readFileSync(join(work, 'assets/api/top.txt'), 'utf8')).toBe('top');
    expect(readFileSync(join(work, 'assets/api/glob/a.md'), 'utf8')).toBe('a');
    expect(existsSync(join(work, 'assets/api/glob/b.txt'))).toBe(false);
  });

  it('applies a profile and records it', async () => {
    const { locked } = await lock(FILES, { profile: 'debug' });
    const helper = locked.components.find((c) => c.id === 'helper');
    expect(helper?.source.source).toMatch(/helper-debug\.wasm$/);
    expect(helper?.env).toEqual({ DEBUG: '1' });
    expect(helper?.metadata?.build).toEqual({ command: 'make debug' });
    expect(locked.metadata?.profile).toBe('debug');
    const err = await expectInvalid(() => lock(FILES, { profile: 'nope' }));
    expect(err.errors[0]?.code).toBe('MANIFEST_UNKNOWN_PROFILE');
    expect(err.message).toContain('Profile nope is not defined in this application');
  });

  it('without a resolver a URL source is an error naming the component', async () => {
    const err = await expectInvalid(() => lock(FILES, { resolver: false }));
    const codes = err.errors.map((e) => e.code);
    expect(codes).toEqual(['MANIFEST_SOURCE_NO_RESOLVER']);
    expect(err.errors[0]?.message).toContain('remote:dep');
    expect(err.errors[0]?.message).toContain('`api`');
    const err2 = await expectInvalid(() =>
      lock({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/"\ncomponent = "web"\n[component.web]\nsource = { url = "https://e.com/w.wasm", digest = "${ZERO}" }\n` }, { resolver: false }),
    );
    expect(err2.errors[0]?.code).toBe('MANIFEST_SOURCE_NO_RESOLVER');
    expect(err2.errors[0]?.message).toContain('component `web`');
    expect(err2.errors[0]?.line).toBe(8);
  });

  it('direct mounts mount directories and refuse files and exclude_files', async () => {
    const ok = await lock(
      { 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "w.wasm"\nfiles = ["static", { source = "more", destination = "/m" }]\n`, 'static/a': 'a', 'more/b': 'b' },
      { directMounts: true },
    );
    expect(JSON.parse(ok.json).components[0].files).toEqual([
      { source: 'file://<app>/static', path: 'static' },
      { source: 'file://<app>/more', path: '/m' },
    ]);
    const err = await expectInvalid(() =>
      lock({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "w.wasm"\nfiles = ["a.txt"]\n`, 'a.txt': 'a' }, { directMounts: true }),
    );
    expect(err.message).toContain('Only directory mounts are supported with `--direct-mounts`; "a.txt" is not a directory.');
    const err2 = await expectInvalid(() =>
      lock({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "w.wasm"\nfiles = ["d"]\nexclude_files = ["*.x"]\n`, 'd/a': 'a' }, { directMounts: true }),
    );
    expect(err2.message).toContain('Cannot load a component with `exclude_files` using --direct-mounts');
  });

  it('reports missing files with Spin wording', async () => {
    const err = await expectInvalid(() =>
      lock({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "w.wasm"\nfiles = ["nothere.txt", { source = "gone", destination = "/g" }]\n` }),
    );
    expect(err.errors.map((e) => e.message)).toEqual([
      '"nothere.txt" does not exist and doesn\'t appear to be a glob pattern',
      'File or directory "gone" does not exist',
    ]);
    expect(err.errors[0]?.line).toBe(9);
  });

  it('explains a directory-like destination for a single file', async () => {
    const err = await expectInvalid(() =>
      lock({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/..."\ncomponent = "bad"\n[component.bad]\nsource = "w.wasm"\nfiles = [{ source = "host.txt", destination = "/" }]\n`, 'host.txt': 'h' }),
    );
    expect(err.errors[0]?.code).toBe('MANIFEST_FILES_COPY_FAILED');
    expect(err.message).toContain('"/" is not a valid destination file name');
  });

  it('a failing resolver is reported with its code', async () => {
    const app = makeApp({ 'spin.toml': `spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/"\ncomponent = "web"\n[component.web]\nsource = { url = "https://e.com/w.wasm", digest = "${ZERO}" }\n` });
    const err = await expectInvalid(() =>
      lockManifestFile(join(app, 'spin.toml'), {
        resolver: async () => {
          throw Object.assign(new Error('digest mismatch'), { code: 'CACHE_INTEGRITY' });
        },
      }),
    );
    expect(err.errors[0]?.code).toBe('MANIFEST_SOURCE_RESOLVE_FAILED');
    expect(err.errors[0]?.message).toContain('Error fetching source URL "https://e.com/w.wasm"');
    expect(err.errors[0]?.message).toContain('CACHE_INTEGRITY');
  });

  it('moves trigger middleware onto components, splitting a component shared by triggers', async () => {
    const { locked } = await lock({
      'spin.toml': `spin_manifest_version = 2
[application]
name = "mw"
[[trigger.http]]
route = "/a"
component = "solo"
dependencies.middleware = [{ path = "mw/one.wasm" }, { component = "auth" }]
[[trigger.http]]
route = "/plain"
component = "plain"
[[trigger.http]]
route = "/s1"
component = "shared"
dependencies.middleware = [{ path = "mw/one.wasm" }]
[[trigger.http]]
route = "/s2"
component = "shared"
[component.solo]
source = "solo.wasm"
[component.plain]
source = "plain.wasm"
[component.shared]
source = "shared.wasm"
[component.auth]
source = "auth.wasm"
`,
    });
    expect(locked.must_understand).toEqual(['component_host_requirements']);
    expect(locked.triggers.map((t) => [t.id, (t.trigger_config as { component: string }).component, t.trigger_dependencies])).toEqual([
      ['solo-http-trigger', 'solo', undefined],
      ['plain-http-trigger', 'plain', undefined],
      ['shared-http-trigger', 'shared-for-shared-http-trigger', undefined],
      ['http-trigger1', 'shared', undefined],
    ]);
    const solo = locked.components.find((c) => c.id === 'solo');
    expect(solo?.metadata).toEqual({ 'resolve-trigger-dependencies-using': 'http' });
    expect(solo?.host_requirements).toEqual({ middleware: 'required' });
    expect(solo?.trigger_dependencies?.['middleware']?.map((d) => d.source.source?.split('/').pop())).toEqual(['one.wasm', 'auth.wasm']);
    expect(locked.components.map((c) => c.id)).toEqual(['solo', 'plain', 'shared', 'auth', 'shared-for-shared-http-trigger']);
    expect(locked.components.find((c) => c.id === 'shared')?.trigger_dependencies).toBeUndefined();
    expect(locked.components.find((c) => c.id === 'shared-for-shared-http-trigger')?.trigger_dependencies?.['middleware']).toHaveLength(1);
  });
});
