import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { runtimeConfigJsonSchema } from './json-schema.js';

type Schema = Record<string, unknown>;
const SHIPPED = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../schema/runtime-config.schema.json'), 'utf8')) as Schema;

// A small draft-07 subset validator: exactly the keywords the generated schema uses.
function valid(s: Schema, v: unknown): boolean {
  const type = s['type'];
  if (type !== undefined) {
    const t = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : Number.isInteger(v) ? 'integer' : typeof v;
    if (!(type === t || (type === 'number' && t === 'integer'))) return false;
  }
  if ('const' in s && s['const'] !== v) return false;
  if (typeof s['minLength'] === 'number' && typeof v === 'string' && v.length < (s['minLength'] as number)) return false;
  if (typeof s['minimum'] === 'number' && typeof v === 'number' && v < (s['minimum'] as number)) return false;
  if (typeof s['minItems'] === 'number' && Array.isArray(v) && v.length < (s['minItems'] as number)) return false;
  if (Array.isArray(s['oneOf']) && (s['oneOf'] as Schema[]).filter((o) => valid(o, v)).length !== 1) return false;
  if (s['not'] !== undefined && valid(s['not'] as Schema, v)) return false;
  if (Array.isArray(v) && s['items'] !== undefined && !v.every((i) => valid(s['items'] as Schema, i))) return false;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const props = (s['properties'] ?? {}) as Record<string, Schema>;
    if (Array.isArray(s['required']) && !(s['required'] as string[]).every((k) => k in o)) return false;
    for (const [k, val] of Object.entries(o)) {
      if (props[k] !== undefined) {
        if (!valid(props[k] as Schema, val)) return false;
      } else if (s['additionalProperties'] === false) return false;
      else if (typeof s['additionalProperties'] === 'object' && !valid(s['additionalProperties'] as Schema, val)) return false;
    }
  }
  return true;
}

describe('runtime-config JSON schema', () => {
  it('is shipped as generated from the section table (run `pnpm --filter @spinel/runtime schema` after changing sections.ts)', () => {
    expect(SHIPPED).toEqual(runtimeConfigJsonSchema());
  });

  it('accepts what the reader accepts and flags the mistakes editors should show', () => {
    const accepted = parse(`
state_dir = ".spin"
max_instance_memory = 1000
[key_value_store.default]
type = "spin"
[sqlite_database.orders]
type = "spin"
path = "orders.db"
[[variables_provider]]
type = "vault"
url = "http://127.0.0.1:8200"
token = "t"
mount = "secret"
[outbound_http]
max_connections = 4
[outbound_networking]
block_networks = ["private"]
[[client_tls]]
component_ids = ["web"]
hosts = ["example.com"]
`);
    expect(valid(SHIPPED, accepted)).toBe(true);
    for (const mistake of [
      'statedir = "x"',
      '[outbound_http]\nmax_connections = "4"',
      '[sqlite_database.a]\ntype = "libsql"\nurl = "https://x"\ntoken = "t"',
      '[llm_compute]\ntype = "spin"',
      '[[variables_provider]]\ntype = "vault"\nurl = "http://v"',
      '[[client_tls]]\ncomponent_ids = []\nhosts = ["h"]',
      '[[variables_provider]]\ntype = "env"\n[[config_provider]]\ntype = "env"',
    ]) {
      expect(valid(SHIPPED, parse(mistake)), mistake).toBe(false);
    }
  });
});
