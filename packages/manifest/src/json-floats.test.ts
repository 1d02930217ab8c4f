// Floats in the locked app as serde_json writes them (ryu), from TOML through locking to the
// pushed JSON; a JavaScript number alone would write `1.0` as `1`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatF64, stringifyJson } from './json-floats.js';
import { cloneLockedApp, serializeLockedApp } from './locked-app.js';
import { lockManifestFile } from './read-manifest.js';
import { makeApp, WASM_BYTES } from './test-helpers.js';

describe('formatF64 (ryu, as serde_json writes an f64)', () => {
  it('writes the shortest digits in ryu\'s layout', () => {
    const cases: Array<[number, string]> = [
      [1, '1.0'],
      [-1, '-1.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1.5, '1.5'],
      [300, '300.0'],
      [0.1, '0.1'],
      [123.456, '123.456'],
      [1e15, '1000000000000000.0'],
      [1e16, '1e16'],
      [1.5e20, '1.5e20'],
      [1e21, '1e21'],
      [0.0001, '0.0001'],
      [0.00001, '0.00001'],
      [0.000001, '1e-6'],
      [1.5e-7, '1.5e-7'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e308'],
      [Infinity, 'null'],
      [Number.NaN, 'null'],
    ];
    for (const [v, text] of cases) expect(formatF64(v), String(v)).toBe(text);
  });

  it('writes JSON as serde_json: compact or pretty, integers as integers, non-integral numbers as f64', () => {
    const value = { a: [1, 2.5, {}], b: { c: [] }, d: 'x"y', e: null, f: 1e20 };
    expect(stringifyJson(value, false)).toBe(JSON.stringify(value).replace('100000000000000000000', '1e20'));
    expect(stringifyJson(value, true)).toBe(JSON.stringify(value, null, 2).replace('100000000000000000000', '1e20'));
  });
});

describe('floats from the manifest in the locked app', () => {
  const MANIFEST = `spin_manifest_version = 2
[application]
name = "floats"
[application.trigger.cron]
interval = 2.0
retries = 3

[[trigger.cron]]
component = "tick"
rate = 1.0
ratio = 0.5
count = 3
big = 1e20
list = [1.0, 2]
nested = { weight = -4.0, level = 7 }

[component.tick]
source = "tick.wasm"
`;

  it('writes a TOML float with an integral value as Spin does (`1.0`), integers as integers, in every form', async () => {
    const app = makeApp({ 'spin.toml': MANIFEST, 'tick.wasm': WASM_BYTES });
    const locked = await lockManifestFile(join(app, 'spin.toml'), { workingDir: mkdtempSync(join(tmpdir(), 'spinel-work-')) });
    const pretty = serializeLockedApp(locked);
    for (const text of ['"rate": 1.0', '"ratio": 0.5', '"count": 3,', '"big": 1e20', '"weight": -4.0', '"level": 7,', '"interval": 2.0', '"retries": 3']) {
      expect(pretty).toContain(text);
    }
    expect(pretty).toMatch(/"list": \[\n\s+1\.0,\n\s+2\n\s+\]/);
    const compact = serializeLockedApp(locked, { format: 'compact' });
    expect(compact).toContain('"trigger_config":{"big":1e20,"component":"tick","count":3,"list":[1.0,2],"nested":{"level":7,"weight":-4.0},"rate":1.0,"ratio":0.5}');
    expect(compact).toContain('"trigger":{"interval":2.0,"retries":3,"type":"cron"}');
    // A copy to change (what a push does before serialising) writes the same text.
    expect(serializeLockedApp(cloneLockedApp(locked), { format: 'compact' })).toBe(compact);
    // The values themselves stay plain numbers for every reader.
    expect(locked.triggers[0]?.trigger_config).toMatchObject({ rate: 1, count: 3, list: [1, 2] });
  });

  it('a v1 manifest\'s trigger floats are written as floats too', async () => {
    const app = makeApp({
      'spin.toml': `spin_version = "1"
name = "floats-v1"
trigger = { type = "cron", interval = 5.0 }
[[component]]
id = "tick"
source = "tick.wasm"
[component.trigger]
rate = 1.0
count = 1
`,
      'tick.wasm': WASM_BYTES,
    });
    const compact = serializeLockedApp(await lockManifestFile(join(app, 'spin.toml'), { workingDir: mkdtempSync(join(tmpdir(), 'spinel-work-')) }), { format: 'compact' });
    expect(compact).toContain('"trigger_config":{"component":"tick","count":1,"rate":1.0}');
    expect(compact).toContain('"trigger":{"interval":5.0,"type":"cron"}');
  });
});
