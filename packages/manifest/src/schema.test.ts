import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseManifest } from './parse-manifest.js';
import { COMPONENT_KEYS } from './read-v2.js';

type Schema = Record<string, unknown>;
const SCHEMA = JSON.parse(readFileSync(resolve(import.meta.dirname, '../schema/spin-manifest-v2.schema.json'), 'utf8')) as Schema;

// A small draft-07 subset validator: exactly the keywords the shipped schema uses.
function valid(s: Schema, v: unknown): boolean {
  if (typeof s['$ref'] === 'string') {
    const name = (s['$ref'] as string).replace('#/definitions/', '');
    return valid((SCHEMA['definitions'] as Record<string, Schema>)[name] as Schema, v);
  }
  const type = s['type'];
  if (type !== undefined) {
    const t = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : Number.isInteger(v) ? 'integer' : typeof v;
    if (!(type === t || (type === 'number' && t === 'integer'))) return false;
  }
  if ('const' in s && s['const'] !== v) return false;
  if (Array.isArray(s['enum']) && !(s['enum'] as unknown[]).includes(v)) return false;
  if (typeof s['pattern'] === 'string' && typeof v === 'string' && !new RegExp(s['pattern'] as string, 'u').test(v)) return false;
  if (typeof s['minLength'] === 'number' && typeof v === 'string' && v.length < (s['minLength'] as number)) return false;
  if (typeof s['minimum'] === 'number' && typeof v === 'number' && v < (s['minimum'] as number)) return false;
  if (typeof s['maximum'] === 'number' && typeof v === 'number' && v > (s['maximum'] as number)) return false;
  if (Array.isArray(s['oneOf']) && (s['oneOf'] as Schema[]).filter((o) => valid(o, v)).length !== 1) return false;
  if (s['not'] !== undefined && valid(s['not'] as Schema, v)) return false;
  if (Array.isArray(v) && s['items'] !== undefined && !v.every((i) => valid(s['items'] as Schema, i))) return false;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const props = (s['properties'] ?? {}) as Record<string, Schema>;
    if (Array.isArray(s['required']) && !(s['required'] as string[]).every((k) => k in o)) return false;
    for (const [k, val] of Object.entries(o)) {
      if (s['propertyNames'] !== undefined && !valid(s['propertyNames'] as Schema, k)) return false;
      if (props[k] !== undefined) {
        if (!valid(props[k] as Schema, val)) return false;
      } else if (s['additionalProperties'] === false) return false;
      else if (typeof s['additionalProperties'] === 'object' && !valid(s['additionalProperties'] as Schema, val)) return false;
    }
  }
  return true;
}

const VALID = `spin_manifest_version = 2
[application]
name = "s"
version = "1.0.0"
[application.trigger.http]
base = "/"
[variables]
host = { default = "example.com" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "web"
executor = { type = "wagi", argv = "x" }
[[trigger.http]]
route = { private = true }
component = { source = "inline.wasm" }
[[trigger.http]]
route = "/static"
static_response = { status_code = 200, body = "ok" }
[[trigger.redis]]
channel = "c"
component = "web"
[[trigger.custom]]
anything = 1
component = "web"
[component.web]
source = { url = "https://example.com/w.wasm", digest = "sha256:${'a'.repeat(64)}" }
files = ["static", { source = "a", destination = "/b" }]
allowed_outbound_hosts = ["https://{{ host }}", "*://*:*"]
key_value_stores = ["default", "my_store"]
variables = { t = "{{ token }}" }
build = { command = ["a", "b"], workdir = "w" }
dependencies = { "a:b/c" = { path = "d.wasm", inherit_configuration = ["ai_models"] }, "e:f" = "1.0" }
[component.web.profile.debug]
source = "debug.wasm"
build.command = "make debug"
`;

describe('JSON Schema for spin.toml v2', () => {
  it('accepts a manifest using every form', () => {
    expect(valid(SCHEMA, parse(VALID))).toBe(true);
    // and the library agrees that it is valid
    expect(parseManifest(VALID).manifestVersion).toBe(2);
  });

  it.each([
    ['unknown component field', VALID.replace('files = [', 'fils = [')],
    ['bad component id', VALID.replace('[component.web]', '[component.bad_id]')],
    ['variable with both required and default', VALID.replace('token = { required = true, secret = true }', 'token = { required = true, default = "x" }')],
    ['variable with neither', VALID.replace('token = { required = true, secret = true }', 'token = { secret = true }')],
    ['private = false', VALID.replace('route = { private = true }', 'route = { private = false }')],
    ['unknown executor', VALID.replace('type = "wagi"', 'type = "cgi"')],
    ['bad digest', VALID.replace(`sha256:${'a'.repeat(64)}`, 'md5:abc')],
    ['host without scheme', VALID.replace('"*://*:*"', '"example.com"')],
    ['bad label', VALID.replace('"my_store"', '"My Store"')],
    ['http trigger without route', VALID.replace('route = "/static"\n', '')],
    ['version 1', VALID.replace('spin_manifest_version = 2', 'spin_manifest_version = "1"')],
  ])('rejects %s', (_name, text) => {
    expect(valid(SCHEMA, parse(text))).toBe(false);
  });

  it('lists exactly the component fields the reader accepts', () => {
    const component = (SCHEMA['definitions'] as Record<string, Schema>)['component'] as Schema;
    expect(Object.keys(component['properties'] as object).sort()).toEqual([...COMPONENT_KEYS].sort());
  });
});
