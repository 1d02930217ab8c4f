import { describe, expect, it } from 'vitest';
import { ManifestAggregateError } from './errors.js';
import { parseManifest } from './parse-manifest.js';

function problems(text: string): ManifestAggregateError {
  try {
    parseManifest(text, { path: '/app/spin.toml' });
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestAggregateError);
    return e as ManifestAggregateError;
  }
  throw new Error('expected the manifest to be rejected');
}

const V2 = (body: string) => `spin_manifest_version = 2\n[application]\nname = "app"\n${body}`;
const HTTP = (component: string) => V2(`[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "web.wasm"\n${component}`);

describe('parseManifest: invalid cases carry Spin\'s key phrase, a code and a location', () => {
  const cases: [string, string, string, number?, number?][] = [
    ['empty file', '', 'missing field `spin_manifest_version`', 1, 1],
    ['bad version string', 'spin_manifest_version = "0"', 'invalid manifest version: "0"', 1, 25],
    ['bad v1 version', 'spin_version = "77.301.12"\nname = "x"', 'invalid manifest version: "77.301.12"', 1, 16],
    ['TOML syntax', 'spin_version = "1"\nname = "x"\nver\n', 'TOML parse error at line 3, column 4', 3, 4],
    ['component id with _', V2('[component.bad_id]\nsource = "a.wasm"\n[[trigger.x]]\ncomponent = "bad_id"'), 'invalid component id "bad_id": words must be separated with \'-\', not \'_\'', 4, 12],
    ['bad component reference', V2('[[trigger.fake]]\ncomponent = "1-2-3"'), "'-'-separated words must start with an ASCII letter; got '1'", 5, 13],
    ['bad variable name', V2('[variables]\n"bad+name" = { required = true }\n[[trigger.x]]\ncomponent = { source = "a.wasm" }'), "'_'-separated words may only contain alphanumeric ASCII; got '+'", 5, 1],
    ['upper-case variable', V2('[variables]\nBAD = { required = true }\n[[trigger.x]]\ncomponent = { source = "a.wasm" }'), 'Lower-case identifiers must be all lowercase; got "BAD"'],
    ['variable neither required nor default', V2('[variables]\nv = { description = "x" }\n[[trigger.x]]\ncomponent = { source = "a.wasm" }'), 'must be `required` OR have a `default`', 5, 1],
    ['variable both', V2('[variables]\nv = { required = true, default = "x" }\n[[trigger.x]]\ncomponent = { source = "a.wasm" }'), 'must be `required` OR have a `default`'],
    ['bad digest', V2('[[trigger.x]]\ncomponent = "w"\n[component.w]\nsource = { url = "https://e.com/w.wasm", digest = "not-a-digest" }'), 'invalid `digest` "not-a-digest"; must start with \'sha256:\''],
    ['bad allowed host', HTTP('allowed_outbound_hosts = ["example.com"]'), "does not contain a scheme (e.g., 'http://' or '*://')", 9, 27],
    ['bad port', HTTP('allowed_outbound_hosts = ["http://e.com:99999"]'), 'Invalid allowed host port "99999"'],
    ['wildcard scheme without port', HTTP('allowed_outbound_hosts = ["*://e.com"]'), 'no port was provided and the scheme "*" does not have a known default port number'],
    ['insecure allow all', HTTP('allowed_outbound_hosts = ["insecure:allow-all"]'), "'insecure:allow-all' is not allowed - use '*://*:*' instead"],
    [
      'template default invalid',
      V2('[variables]\nh = { default = "bad host" }\n[[trigger.http]]\nroute = "/"\ncomponent = "w"\n[component.w]\nsource = "a.wasm"\nallowed_outbound_hosts = ["https://{{ h }}"]'),
      'using default variable value(s) with template "https://{{ h }}" results in invalid config "https://bad host"',
    ],
    ['unmatched template', HTTP('variables = { a = "{{ oops" }'), "unmatched '{{' in template"],
    ['unknown template variable', HTTP('variables = { a = "{{ nope }}" }'), 'unknown variable "nope"'],
    [
      'bad allowed_http_hosts (v1)',
      'spin_version = "1"\nname = "x"\ntrigger = { type = "http" }\n[[component]]\nid = "h"\nsource = "a.wasm"\nallowed_http_hosts = ["ftp://random.app", "example.com/wib/wob"]\n[component.trigger]\nroute = "/"',
      "One or more allowed_http_hosts entries was invalid:\nftp://random.app isn't a valid host or host:port string\nexample.com/wib/wob contains a path, should be host and optional port only",
    ],
    [
      'duplicate v1 ids',
      'spin_version = "1"\nname = "x"\ntrigger = { type = "http" }\n[[component]]\nid = "h"\nsource = "a.wasm"\n[component.trigger]\nroute = "/a"\n[[component]]\nid = "h"\nsource = "a.wasm"\n[component.trigger]\nroute = "/b"',
      'cannot have duplicate component IDs: h',
      10,
    ],
    ['private false', V2('[[trigger.http]]\nroute = { private = false }\ncomponent = "w"\n[component.w]\nsource = "a.wasm"'), "route must be a string pattern or '{ private = true }': 'w-http-trigger' has { private = false }"],
    ['bad route', V2('[[trigger.http]]\nroute = "/a/.../b"\ncomponent = "w"\n[component.w]\nsource = "a.wasm"'), 'invalid route "/a/.../b"', 5, 9],
    ['neither component nor static', V2('[[trigger.http]]\nroute = "/a"'), 'Triggers must specify either component or static_response - http-trigger1 has neither'],
    ['both component and static', V2('[[trigger.http]]\nroute = "/a"\ncomponent = "w"\nstatic_response = { body = "x" }\n[component.w]\nsource = "a.wasm"'), 'Triggers must specify either component or static_response - w-http-trigger has both'],
    ['bad executor', V2('[[trigger.http]]\nroute = "/a"\ncomponent = "w"\nexecutor = { type = "cgi" }\n[component.w]\nsource = "a.wasm"'), 'unknown executor type "cgi"'],
    ['bad status', V2('[[trigger.http]]\nroute = "/a"\nstatic_response = { status_code = 42 }'), 'must be an HTTP status between 100 and 999'],
    ['deprecated base', V2('[application.trigger.http]\nbase = "/api"\n[[trigger.http]]\nroute = "/a"\ncomponent = "w"\n[component.w]\nsource = "a.wasm"'), "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'."],
    ['absolute workdir', HTTP('build = { command = "make", workdir = "/abs" }'), 'The workdir specified in the application file must be relative.'],
    ['bad kv label', HTTP('key_value_stores = ["Not Valid"]'), 'expected kebab-case or snake_case'],
    ['file pattern ..', HTTP('files = ["assets/.."]'), "A file pattern can't end in a parent directory path (..)"],
    ['file pattern .', HTTP('files = ["."]'), "A file pattern can't end in a current directory path (.)"],
    ['file outside app', HTTP('files = ["../secret"]'), 'cannot be mapped because it is outside the application directory. Files must be within the application directory.'],
    ['unknown component field', HTTP('sorce = "x"'), 'unknown field `sorce` in `component.web` (did you mean `source`?), expected one of `source`, `description`'],
    ['misspelt trigger field', V2('[[trigger.http]]\nrout = "/"\ncomponent = "w"\n[component.w]\nsource = "a.wasm"'), 'unknown field `rout` in HTTP trigger "w-http-trigger" (did you mean `route`?)', 5, 1],
    ['unknown field far from any', HTTP('zzzzzzzz = "x"'), 'unknown field `zzzzzzzz` in `component.web`, expected one of'],
    ['wrong type', HTTP('environment = { A = 1 }'), 'invalid type at `component.web.environment.A`: integer `1`, expected a string'],
    ['plain dependency without package', HTTP('dependencies = { foo = "1.0" }'), 'dependency "foo" must specify a package name'],
    ['export on package dependency', HTTP('dependencies = { "a:b" = { path = "x.wasm", export = "e" } }'), 'using an export to satisfy the package dependency "a:b" is not currently permitted'],
    ['conflicting dependencies', HTTP('dependencies = { "a:b/c" = { path = "x.wasm" }, "a:b" = { path = "y.wasm" } }'), '"a:b/c" dependency conflicts with "a:b"'],
    ['missing dependency component', HTTP('dependencies = { "a:b/c" = { component = "nobody" } }'), 'dependency ID nobody does not exist'],
    ['both inherit forms', HTTP('dependencies_inherit_configuration = true\ndependencies = { "a:b/c" = { path = "x.wasm", inherit_configuration = true } }'), 'These are mutually exclusive; use one or the other.'],
    ['unknown trigger component', V2('[[trigger.http]]\nroute = "/"\ncomponent = "ghost"'), 'refers to component "ghost", which is not defined'],
    ['duplicate v2 component table', V2('[[trigger.x]]\ncomponent = "a"\n[component.a]\nsource = "a.wasm"\n[component.a]\nsource = "b.wasm"'), 'TOML parse error at line 8', 8],
    ['bad v1 config name', 'spin_version = "1"\nname = "x"\ntrigger = { type = "http" }\n[[component]]\nid = "h"\nsource = "a.wasm"\n[component.trigger]\nroute = "/"\n[component.config]\n"Bad-Name" = "x"', "words must be separated with '_', not '-'", 10, 1],
    ['registry source with a version range', HTTP('').replace('source = "web.wasm"', 'source = { registry = "example.com", package = "ns:pkg", version = "^1.0" }'), 'Component web specifies an invalid semantic version ("^1.0") for its package version'],
    ['missing application', 'spin_manifest_version = 2\n[[trigger.http]]\nroute = "/"\ncomponent = { source = "a.wasm" }', 'missing field `application`'],
  ];

  for (const [name, text, phrase, line, column] of cases) {
    it(name, () => {
      const err = problems(text);
      expect(err.code).toBe('MANIFEST_INVALID');
      const match = err.errors.find((e) => e.message.includes(phrase));
      expect(match, `${err.message}`).toBeDefined();
      expect(match?.code).toMatch(/^MANIFEST_[A-Z_]+$/);
      expect(match?.path).toBe('/app/spin.toml');
      if (line !== undefined) expect(match?.line).toBe(line);
      if (column !== undefined) expect(match?.column).toBe(column);
      if (match?.line !== undefined) expect(match.excerpt).toMatch(/\^/);
    });
  }

  it('reports all independent problems together', () => {
    const err = problems(
      V2(`[variables]
a = {}
[[trigger.http]]
route = "/x/.../y"
component = "w"
[component.w]
source = "a.wasm"
sorce = "oops"
allowed_outbound_hosts = ["nope", "http://ok.com", "https://e.com:70000"]
key_value_stores = ["Bad Label"]
`),
    );
    expect(err.errors.map((e) => e.code).sort()).toEqual(
      [
        'MANIFEST_INVALID_ALLOWED_HOST',
        'MANIFEST_INVALID_ALLOWED_HOST',
        'MANIFEST_INVALID_LABEL',
        'MANIFEST_INVALID_ROUTE',
        'MANIFEST_UNKNOWN_FIELD',
        'MANIFEST_VARIABLE_REQUIRED_OR_DEFAULT',
      ].sort(),
    );
    expect(err.errors.map((e) => e.line)).not.toContain(undefined);
    expect(err.diagnostics).toHaveLength(6);
    expect(err.message).toContain('Found 6 problems in "/app/spin.toml"');
    const unknown = err.errors.find((e) => e.code === 'MANIFEST_UNKNOWN_FIELD');
    expect(unknown?.line).toBe(11);
    expect(unknown?.column).toBe(1);
    expect(unknown?.excerpt).toBe('   |\n11 | sorce = "oops"\n   | ^^^^^');
  });

  it('accepts valid v1 and v2 manifests and converts v1 to the v2 model', () => {
    const v1 = parseManifest(`spin_manifest_version = "1"
name = "old"
trigger = { type = "redis", address = "redis://localhost" }
[variables]
secret_thing = { required = true, secret = true }
[[component]]
id = "Old_Component"
source = "a.wasm"
allowed_outbound_hosts = ["redis://localhost"]
allowed_http_hosts = ["example.com:8080", "self"]
config = { thing = "{{ secret_thing }}" }
[component.trigger]
channel = "messages"
[component.build]
command = "cargo build"
`);
    expect(v1.manifestVersion).toBe(1);
    expect(Object.keys(v1.manifest.components)).toEqual(['old-component']);
    const c = v1.manifest.components['old-component'];
    expect(c?.allowed_outbound_hosts).toEqual(['redis://localhost', 'http://example.com:8080', 'https://example.com:8080', 'http://self']);
    expect(c?.variables).toEqual({ thing: '{{ secret_thing }}' });
    expect(v1.manifest.triggers['redis']?.[0]).toMatchObject({ id: 'trigger-old-component', config: { channel: 'messages' } });
    expect(v1.manifest.application.triggerGlobalConfigs).toEqual({ redis: { address: 'redis://localhost' } });
  });

  it('warns (without failing) about deprecated and suspicious things', () => {
    const r = parseManifest(HTTP('allowed_http_hosts = ["example.com"]\nfiles = ["*"]'));
    expect(r.warnings.map((w) => w.code).sort()).toEqual(['MANIFEST_DEPRECATED_ALLOWED_HTTP_HOSTS', 'MANIFEST_FILES_WHOLE_APP']);
    expect(r.warnings[0]?.message).toContain('allowed_outbound_hosts = ["http://example.com","https://example.com"]');
  });
});
