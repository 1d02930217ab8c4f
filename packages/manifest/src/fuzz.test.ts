import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestAggregateError, ManifestError } from './errors.js';
import { lockApp } from './lock-app.js';
import { parseManifest } from './parse-manifest.js';
import { manifestToV2Toml } from './upgrade-v1.js';
import { makeApp } from './test-helpers.js';

// Deterministic PRNG (mulberry32) so a failure is reproducible from its seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const V2 = `spin_manifest_version = 2

[application]
name = "fuzz"
version = "1.0.0"
authors = ["x"]
[application.trigger.redis]
address = "redis://localhost"

[variables]
host = { default = "example.com" }
token = { required = true, secret = true }

[[trigger.http]]
route = "/api/:id/..."
component = "api"
executor = { type = "wagi", argv = "x" }

[[trigger.http]]
route = { private = true }
component = { source = "inline.wasm", allowed_outbound_hosts = ["http://*.spin.internal"] }

[[trigger.http]]
route = "/static"
static_response = { status_code = 200, headers = { "a" = "b" }, body = "hi" }

[[trigger.redis]]
channel = "{{ host }}"
component = "api"

[component.api]
source = "api.wasm"
files = ["static", { source = "data", destination = "/d" }, "*.txt"]
exclude_files = ["**/*.tmp"]
allowed_outbound_hosts = ["https://{{ host }}:443", "tcp://10.0.0.0/8:1..1024", "*://*:*"]
key_value_stores = ["default"]
variables = { t = "{{ token }}" }
environment = { A = "1" }
[component.api.build]
command = ["a", "b"]
workdir = "w"
[component.api.dependencies]
"a:b/c" = { path = "dep.wasm", inherit_configuration = ["ai_models"] }
"d:e" = { component = "remote" }

[component.remote]
source = { url = "https://example.com/r.wasm", digest = "sha256:${'a'.repeat(64)}" }
[component.remote.profile.dev]
source = "dev.wasm"
`;

const V1 = `spin_manifest_version = "1"
name = "old"
version = "1.0.0"
trigger = { type = "http", base = "/" }
[variables]
v = { default = "x" }
[[component]]
id = "one_two"
source = "a.wasm"
files = ["static/**/*"]
allowed_http_hosts = ["example.com:8080", "self"]
config = { c = "{{ v }}" }
[component.trigger]
route = "/..."
[component.build]
command = "make"
[[component]]
id = "three"
source = { url = "https://e.com/x.wasm", digest = "sha256:${'b'.repeat(64)}" }
[component.trigger]
route = "/three"
`;

const VALUES = ['1', '-5', '3.5', 'true', '""', '"x"', '"/..."', '"*://*:*"', '[]', '[1, "a"]', '{}', '{ a = 1 }', '1979-05-27', '"{{ nope }}"', '"{{"', '"sha256:zz"', '"../x"', '"a_b"', '"UPPER"', 'inf', 'nan'];
const CHARS = ['"', "'", '[', ']', '{', '}', '=', '.', '\n', '#', '\\', ',', ' ', 'x', '_', '-', '/', '*', ':', '\u0000', 'é'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const lines = text.split('\n');
  const n = 1 + Math.floor(rnd() * 3);
  let out = text;
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rnd() * 7);
    const ls = out.split('\n');
    const li = Math.floor(rnd() * ls.length);
    switch (op) {
      case 0: {
        const i = Math.floor(rnd() * out.length);
        out = out.slice(0, i) + pick(CHARS) + out.slice(i + 1);
        break;
      }
      case 1:
        ls.splice(li, 1);
        out = ls.join('\n');
        break;
      case 2: {
        const lj = Math.floor(rnd() * ls.length);
        [ls[li], ls[lj]] = [ls[lj] as string, ls[li] as string];
        out = ls.join('\n');
        break;
      }
      case 3: {
        const line = ls[li] as string;
        const eq = line.indexOf('=');
        if (eq > 0) ls[li] = `${line.slice(0, eq + 1)} ${pick(VALUES)}`;
        out = ls.join('\n');
        break;
      }
      case 4:
        ls.splice(li, 0, pick(lines));
        out = ls.join('\n');
        break;
      case 5:
        out = out.slice(0, Math.floor(rnd() * out.length));
        break;
      default: {
        const line = ls[li] as string;
        const eq = line.indexOf('=');
        if (eq > 0) ls[li] = `${pick(['sorce', 'route', 'component', 'id', 'files', 'spin_manifest_version', '"we ird"'])} ${line.slice(eq)}`;
        out = ls.join('\n');
      }
    }
  }
  return out;
}

function assertCoded(err: unknown, context: string): void {
  if (!(err instanceof ManifestError)) throw new Error(`uncoded error for ${context}: ${String((err as Error)?.stack ?? err)}`);
  expect(err.code).toMatch(/^MANIFEST_[A-Z_]+$/);
  if (err instanceof ManifestAggregateError) {
    expect(err.errors.length).toBeGreaterThan(0);
    for (const e of err.errors) expect(e.code).toMatch(/^MANIFEST_[A-Z_]+$/);
  }
}

describe('fuzz: mutated manifests only ever produce coded manifest errors', () => {
  it('the unmutated bases are valid', () => {
    expect(parseManifest(V2).manifestVersion).toBe(2);
    expect(parseManifest(V1).manifestVersion).toBe(1);
  });

  it('3000 seeded mutations of valid v1 and v2 manifests', async () => {
    const appDir = makeApp({ 'static/a.txt': 'a', 'data/b': 'b', 'top.txt': 't', 'x.tmp': 'x' });
    const work = mkdtempSync(join(tmpdir(), 'spinel-fuzz-'));
    let parsedOk = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = prng(seed);
      const base = seed % 2 === 0 ? V2 : V1;
      const text = mutate(base, rnd);
      let parsed;
      try {
        parsed = parseManifest(text, { path: 'spin.toml' });
        parsedOk++;
      } catch (err) {
        rejected++;
        assertCoded(err, `seed ${seed}`);
        continue;
      }
      // Round trip: whatever was accepted, written as v2, is accepted again with the same components.
      const again = parseManifest(manifestToV2Toml(parsed.manifest), { path: 'spin.toml' });
      expect(Object.keys(again.manifest.components), `seed ${seed}`).toEqual(Object.keys(parsed.manifest.components));
      // Lock a sample of the survivors (touches the filesystem, so not all of them).
      if (seed % 10 === 0 || seed % 10 === 1) {
        try {
          await lockApp(parsed, { appDir, workingDir: join(work, String(seed)), resolver: async (_u, d) => ({ path: `/cache/${d}` }), ...(rnd() < 0.3 ? { profile: 'dev' } : {}) });
        } catch (err) {
          assertCoded(err, `lock seed ${seed}`);
        }
      }
    }
    // Both outcomes must actually occur, or the fuzzer is not exercising anything.
    expect(parsedOk).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
  }, 180_000); // thousands of parses: generous, so a loaded machine cannot fail it
});
