import { describe, expect, it } from 'vitest';
import { normalizeManifest } from './normalize.js';
import { parseManifest } from './parse-manifest.js';

describe('normalizeManifest', () => {
  it('fills trigger ids and hoists inline components with Spin\'s naming', () => {
    const parsed = parseManifest(`spin_manifest_version = 2
[application]
name = "norm"
[[trigger.http]]
route = "/"
component = "greeter"
[[trigger.http]]
id = "admin"
route = "/admin"
component = { source = "admin.wasm" }
[[trigger.http]]
route = "/other"
component = { source = "other.wasm" }
[[trigger.queue]]
components.main = "greeter"
components.first = { source = "one.wasm" }
components.second = { source = "two.wasm" }
[[trigger.queue]]
id = "greeter-queue-trigger"
component = "greeter"
[[trigger.queue]]
component = "greeter"
[component.greeter]
source = "greeter.wasm"
[component.http-trigger1-component]
source = "taken.wasm"
`);
    const before = JSON.stringify(parsed.manifest);
    const { manifest } = normalizeManifest(parsed.manifest);
    expect(JSON.stringify(parsed.manifest)).toBe(before); // the input is not changed
    const http = manifest.triggers['http'] ?? [];
    expect(http.map((t) => [t.id, t.component])).toEqual([
      ['greeter-http-trigger', { kind: 'reference', id: 'greeter' }],
      ['admin', { kind: 'reference', id: 'admin-component' }],
      // `http-trigger1-component` is taken, so the fallback name is used
      ['http-trigger1', { kind: 'reference', id: 'inline-component1' }],
    ]);
    const queue = manifest.triggers['queue'] ?? [];
    expect(queue.map((t) => t.id)).toEqual(['queue-trigger1', 'greeter-queue-trigger', 'queue-trigger2']);
    expect(queue[0]?.components).toEqual({
      main: [{ kind: 'reference', id: 'greeter' }],
      first: [{ kind: 'reference', id: 'inline-component2' }],
      second: [{ kind: 'reference', id: 'inline-component3' }],
    });
    expect(Object.keys(manifest.components)).toEqual([
      'greeter',
      'http-trigger1-component',
      'admin-component',
      'inline-component1',
      'inline-component2',
      'inline-component3',
    ]);
    expect(manifest.components['inline-component3']?.source).toEqual({ kind: 'local', path: 'two.wasm' });
  });
});
