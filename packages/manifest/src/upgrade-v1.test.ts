import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockApp } from './lock-app.js';
import { serializeLockedApp } from './locked-app.js';
import { parseManifest } from './parse-manifest.js';
import { manifestToV2Toml } from './upgrade-v1.js';

const V1 = `spin_manifest_version = "1"
name = "legacy"
version = "2.0.0"
description = "old style"
authors = ["A <a@example.com>"]
trigger = { type = "http" }
[variables]
greeting = { default = "hi" }
[[component]]
id = "Hello_World"
source = "hello.wasm"
description = "says hello"
files = [{ source = "static", destination = "/s" }]
allowed_http_hosts = ["example.com"]
key_value_stores = ["default"]
config = { message = "{{ greeting }}" }
environment = { A = "1" }
[component.trigger]
route = "/hello"
executor = { type = "wagi" }
[component.build]
command = "make"
workdir = "hello"
[[component]]
id = "db"
source = { url = "https://example.com/db.wasm", digest = "sha256:${'c'.repeat(64)}" }
[component.trigger]
route = "/db/..."
`;

describe('manifestToV2Toml', () => {
  it('upgrades a v1 manifest to v2 text that locks to the same app', async () => {
    const v1 = parseManifest(V1, { path: 'spin.toml' });
    const text = manifestToV2Toml(v1.manifest);
    expect(text).toContain('spin_manifest_version = 2');
    const v2 = parseManifest(text, { path: 'spin.toml' });
    expect(v2.manifestVersion).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'spinel-upgrade-'));
    writeFileSync(join(dir, 'static'), '');
    const opts = { appDir: dir, directMounts: true as const, resolver: async (_u: string, d: string) => `/c/${d}`, origin: 'file:///x/spin.toml' };
    const a = JSON.parse(serializeLockedApp(await lockApp(v1, opts).catch(() => lockApp(v1, { ...opts, directMounts: false, workingDir: join(dir, 'w1') }))));
    const b = JSON.parse(serializeLockedApp(await lockApp(v2, opts).catch(() => lockApp(v2, { ...opts, directMounts: false, workingDir: join(dir, 'w2') }))));
    // Only the per-type global table differs: v1 always records `{ http: {} }`.
    expect(a.metadata.triggers).toEqual({ http: {} });
    expect(b.metadata.triggers).toEqual({});
    delete a.metadata.triggers;
    delete b.metadata.triggers;
    b.components.forEach((c: { files?: { source: string }[] }) => c.files?.forEach((f) => (f.source = f.source.replace('/w2/', '/w1/'))));
    expect(b).toEqual(a);
  });

  it('writes v1 conversions the way Spin does (trigger ids kept, legacy hosts explicit)', () => {
    const text = manifestToV2Toml(
      parseManifest(`spin_manifest_version = "1"
name = "m"
trigger = { type = "fake", global_option = true }
[[component]]
id = "plain"
source = "a.wasm"
trigger = {}
[[component]]
id = "rich"
source = "b.wasm"
allowed_http_hosts = ["example.com"]
allowed_outbound_hosts = ["https://fermyon.com:443"]
[component.trigger]
option = true
`).manifest,
    );
    expect(text).toBe(`spin_manifest_version = 2

[application]
name = "m"

[application.trigger.fake]
global_option = true

[[trigger.fake]]
id = "trigger-plain"
component = "plain"

[[trigger.fake]]
id = "trigger-rich"
component = "rich"
option = true

[component.plain]
source = "a.wasm"
allowed_outbound_hosts = [ "redis://*:*", "mysql://*:*", "postgres://*:*" ]

[component.rich]
source = "b.wasm"
allowed_outbound_hosts = [ "https://fermyon.com:443", "http://example.com", "https://example.com" ]
`);
  });
});
