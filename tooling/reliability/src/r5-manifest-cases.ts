/**
 * Manifest cases for R5: mutations of valid manifests (bytes, lines, tokens, splices) and
 * manifests generated from the shape of spin.toml with hostile values (deep keys, huge
 * arrays, unicode ids, long strings, dangling references, bad templates).
 */
import type { Dice } from './seeded-random.js';

/** Valid manifests the mutations start from. */
export const SEEDS: readonly string[] = [
  `spin_manifest_version = 2

[application]
name = "fuzz"
version = "1.0.0"
authors = ["x <x@example.com>"]
description = "seed"
[application.trigger.redis]
address = "redis://localhost"

[variables]
token = { required = true, secret = true }
greeting = { default = "hi {{ token }}" }

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = { private = true }
component = "inner"

[[trigger.http]]
route = "/static/..."
static_response = { status_code = 200, headers = { "content-type" = "text/plain" }, body = "ok" }

[[trigger.redis]]
channel = "messages"
component = { source = "redis.wasm" }

[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["https://*.example.com", "http://self", "redis://10.0.0.0/8:6379", "http://inner.spin.internal"]
key_value_stores = ["default"]
sqlite_databases = ["default"]
environment = { A = "1" }
files = ["static/**/*", { source = "data", destination = "/data" }]
exclude_files = ["**/*.tmp"]
[component.api.variables]
t = "{{ token }}"
[component.api.build]
command = "cargo build"
watch = ["src/**/*.rs"]
[component.api.dependencies]
"a:b/c" = { path = "dep.wasm" }
"x:y/z@1.0.0" = { url = "https://example.com/d.wasm", digest = "sha256:${'a'.repeat(64)}" }
[component.api.profile.dev]
source = "api-dev.wasm"

[component.inner]
source = { url = "https://example.com/inner.wasm", digest = "sha256:${'b'.repeat(64)}" }
`,
  `spin_manifest_version = "1"
name = "old"
version = "0.1.0"
trigger = { type = "http", base = "/" }

[[component]]
id = "web"
source = "web.wasm"
files = ["top.txt", { source = "static", destination = "/s" }]
allowed_http_hosts = ["example.com", "insecure:allow-all"]
[component.trigger]
route = "/..."
executor = { type = "wagi", argv = "\${SCRIPT_NAME} \${ARGS}" }
[component.config]
k = "v"
`,
  `spin_manifest_version = 2
[application]
name = "tiny"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
`,
];

const TOKENS = [
  '"', "'", '"""', '[', ']', '[[', ']]', '{', '}', '=', '.', ',', '\n', '#', '\\u0000', '\\', '{{', '}}', '\u00e9', '\u{1f600}', '\u202e', '\0',
  'true', '-1', '1e999', '0x10', 'inf', 'nan', '1979-05-27T07:32:00Z', '9999999999999999999999', '/...', '/*', '..', '../..', '*', '**',
];
const KEYS = [
  'source', 'route', 'component', 'components', 'id', 'files', 'exclude_files', 'allowed_outbound_hosts', 'allowed_http_hosts', 'key_value_stores',
  'sqlite_databases', 'ai_models', 'environment', 'variables', 'dependencies', 'build', 'profile', 'executor', 'static_response', 'trigger', 'application',
  'spin_manifest_version', 'spin_version', 'channel', 'address', 'private', 'url', 'digest', 'path', 'export', 'inherit_configuration', 'package', 'version',
  'registry', 'dependencies_inherit_configuration', 'tool', 'watch', 'command', 'workdir', 'description', 'name', 'authors', 'base', 'destination', 'status_code',
  'headers', 'body', 'default', 'required', 'secret',
];
const VALUES = [
  '"x"', '""', '1', '[]', '{}', '[1, "a"]', '{ a = 1 }', 'true', '"../../../../dev/zero"', '"/etc/passwd"', '"{{ nope }}"', '"{{"', '"}}"', '"http://*:*"',
  '"https://[::1]:99999"', '"redis://10.0.0.0/33"', '"sha256:zz"', '"Ünïcödé"', '"wéb"', '"a_b"', '"-x"', '"A-b"', '"\\ud800"', '["**/*", "*"]',
  '{ source = "x", destination = "/" }', '{ url = "ftp://x", digest = "sha256:0" }', '{ private = false }', '"/.well-known/spin/health"', '2', '"1"', '"3"',
];

/** Largest case generated: big enough for pathological sizes, small enough to send and parse. */
export const MAX_CASE_BYTES = 2 * 1024 * 1024;

/** A mutated copy of a seed. */
export function mutate(dice: Dice): string {
  let out = dice.pick(SEEDS);
  const rounds = dice.chance(0.6) ? 1 : 2 + dice.int(3);
  for (let r = 0; r < rounds; r++) {
    const lines = out.split('\n');
    const li = dice.int(lines.length);
    switch (dice.int(11)) {
      case 0: {
        const i = dice.int(out.length + 1);
        out = out.slice(0, i) + String.fromCharCode(dice.int(0x3000)) + out.slice(i + 1);
        break;
      }
      case 1: {
        const i = dice.int(out.length + 1);
        out = out.slice(0, i) + dice.pick(TOKENS) + out.slice(i);
        break;
      }
      case 2:
        lines.splice(li, 1);
        out = lines.join('\n');
        break;
      case 3: {
        const line = lines[li] ?? '';
        const eq = line.indexOf('=');
        if (eq > 0) lines[li] = `${line.slice(0, eq + 1)} ${dice.pick(VALUES)}`;
        out = lines.join('\n');
        break;
      }
      case 4: {
        const line = lines[li] ?? '';
        const eq = line.indexOf('=');
        if (eq > 0) lines[li] = `${dice.pick(KEYS)} ${line.slice(eq)}`;
        out = lines.join('\n');
        break;
      }
      case 5: {
        // Repeat a line many times (duplicate keys, thousands of tables).
        const times = dice.chance(0.2) ? 2000 : 2 + dice.int(20);
        lines.splice(li, 0, ...Array.from({ length: times }, () => lines[li] ?? ''));
        out = lines.join('\n');
        break;
      }
      case 6: {
        // Splice another seed in.
        const other = dice.pick(SEEDS).split('\n');
        const from = dice.int(other.length);
        lines.splice(li, 0, ...other.slice(from, from + 1 + dice.int(10)));
        out = lines.join('\n');
        break;
      }
      case 7:
        out = out.slice(0, dice.int(out.length + 1));
        break;
      case 8: {
        // Deepen a header or key with dotted parts.
        const parts = 1 + dice.int(dice.chance(0.1) ? 5000 : 40);
        lines.splice(li, 0, `[${Array.from({ length: parts }, (_, i) => (i % 3 === 0 ? '"q.q"' : 'k')).join('.')}]`);
        out = lines.join('\n');
        break;
      }
      case 9: {
        const line = lines[li] ?? '';
        lines[li] = line + dice.pick(VALUES).repeat(1 + dice.int(dice.chance(0.1) ? 20_000 : 5));
        out = lines.join('\n');
        break;
      }
      default: {
        const a = dice.int(out.length + 1);
        const b = dice.int(out.length + 1);
        out = out.slice(0, Math.min(a, b)) + out.slice(Math.max(a, b));
      }
    }
    if (out.length > MAX_CASE_BYTES) out = out.slice(0, MAX_CASE_BYTES);
  }
  return out;
}

function str(dice: Dice): string {
  const pieces = ['web', 'api', 'a-b', 'x', 'wéb', 'A', 'a_b', '', ' ', '{{ v }}', '{{', 'http://self', '../x', '/...', 'sha256:' + 'c'.repeat(64), '\\t', '\u{1f600}'];
  let s = dice.pick(pieces);
  if (dice.chance(0.02)) s = s.repeat(1 + dice.int(50_000));
  return JSON.stringify(s);
}

function value(dice: Dice, depth: number): string {
  const r = dice.int(10);
  if (depth > 3 || r < 4) return str(dice);
  if (r === 4) return String(dice.int(2) === 0 ? dice.int(1000) : -dice.int(10));
  if (r === 5) return dice.chance(0.5) ? 'true' : 'false';
  if (r === 6) {
    // A huge array holds plain strings: nested huge arrays would only measure the generator.
    if (depth <= 1 && dice.chance(0.05)) return `[${Array.from({ length: 10_000 }, () => JSON.stringify(dice.pick(['a', 'web', '**/*', 'http://*:*']))).join(', ')}]`;
    return `[${Array.from({ length: dice.int(5) }, () => value(dice, depth + 1)).join(', ')}]`;
  }
  if (r === 7 && dice.chance(0.05)) return `${'['.repeat(200)}${']'.repeat(200)}`;
  const n = dice.int(4);
  return `{ ${Array.from({ length: n }, () => `${dice.pick(KEYS)} = ${value(dice, depth + 1)}`).join(', ')} }`;
}

/** A manifest generated from spin.toml's shape, with hostile values mixed in. */
export function structured(dice: Dice): string {
  const ids = ['web', 'api', 'wéb', 'a_b', 'Web', 'x'.repeat(dice.chance(0.1) ? 5000 : 3), 'inner'];
  const out: string[] = [`spin_manifest_version = ${dice.chance(0.9) ? '2' : dice.pick(['"1"', '3', '"2"'])}`];
  out.push('[application]', `name = ${str(dice)}`);
  if (dice.chance(0.3)) out.push(`version = ${str(dice)}`);
  const variables = dice.int(4);
  if (variables > 0) out.push('[variables]');
  for (let i = 0; i < variables; i++) out.push(`${dice.pick(['v', 'token', 'Bad-Name', 'x_y'])} = { ${dice.pick(['required = true', 'default = "d"', 'secret = true', 'default = 1', 'required = true, default = "x"'])} }`);
  const triggers = dice.chance(0.05) ? 2000 : 1 + dice.int(4);
  for (let i = 0; i < triggers; i++) {
    const type = dice.chance(0.8) ? 'http' : dice.pick(['redis', 'cron', 'wéird']);
    out.push(`[[trigger.${type}]]`);
    if (dice.chance(0.9)) out.push(`route = ${dice.pick(['"/..."', '"/a"', '"/a/:x"', '"/*"', '{ private = true }', str(dice)])}`);
    if (dice.chance(0.8)) out.push(`component = ${dice.chance(0.7) ? JSON.stringify(dice.pick(ids)) : `{ source = ${str(dice)} }`}`);
    else if (dice.chance(0.5)) out.push(`static_response = ${value(dice, 1)}`);
    if (dice.chance(0.1)) out.push(`executor = ${dice.pick(['{ type = "wagi" }', '{ type = "nope" }', '{ type = "wagi", entrypoint = "main" }', '"spin"'])}`);
  }
  const components = dice.chance(0.05) ? 1000 : 1 + dice.int(4);
  for (let i = 0; i < components; i++) {
    const id = components > 10 ? `c${i}` : dice.pick(ids);
    out.push(`[component.${JSON.stringify(id)}]`);
    out.push(`source = ${dice.chance(0.7) ? '"web.wasm"' : value(dice, 1)}`);
    for (const key of ['files', 'allowed_outbound_hosts', 'key_value_stores', 'environment', 'exclude_files', 'sqlite_databases']) {
      if (dice.chance(0.3)) out.push(`${key} = ${value(dice, 1)}`);
    }
    if (dice.chance(0.2)) out.push(`[component.${JSON.stringify(id)}.dependencies]`, `${str(dice)} = ${value(dice, 1)}`);
    if (dice.chance(0.1)) out.push(`[component.${JSON.stringify(id)}.build]`, `command = ${value(dice, 1)}`, `workdir = ${str(dice)}`);
    if (out.reduce((n, l) => n + l.length, 0) > MAX_CASE_BYTES) break;
  }
  return out.join('\n').slice(0, MAX_CASE_BYTES);
}
