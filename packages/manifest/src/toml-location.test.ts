import { describe, expect, it } from 'vitest';
import { caretExcerpt, locateKeyPath } from './toml-location.js';

const TEXT = `spin_manifest_version = 2
[application]
name = "x"

[[trigger.http]]
route = "/a"
component = "a"

[[trigger.http]]
route = "/b"
component = { source = "b.wasm", files = ["one", "two"] }

[component.a]
source = "a.wasm"
allowed_outbound_hosts = ["http://one", "bad"]
build.command = "make"

[component."quoted id"]
source = "q.wasm"
`;

const V1 = `spin_manifest_version = "1"
name = "v1"
[[component]]
id = "first"
[component.trigger]
route = "/1"
[[component]]
id = "second"
[component.trigger]
route = "/2"
`;

describe('locateKeyPath', () => {
  it.each([
    [['application', 'name'], 'value', 3, 8],
    [['application', 'name'], 'key', 3, 1],
    [['trigger', 'http', 1, 'route'], 'value', 10, 9],
    [['trigger', 'http', 1, 'component', 'source'], 'value', 11, 24],
    [['trigger', 'http', 1, 'component', 'files', 1], 'value', 11, 50],
    [['component', 'a', 'allowed_outbound_hosts', 1], 'value', 15, 41],
    [['component', 'a', 'build', 'command'], 'value', 16, 17],
    [['component', 'a'], 'key', 13, 12],
    [['component', 'quoted id', 'source'], 'value', 19, 10],
    [['component', 'a', 'nothere'], 'key', 13, 12],
  ] as const)('%j (%s) → %i:%i', (path, at, line, column) => {
    expect(locateKeyPath(TEXT, path, at)).toMatchObject({ line, column });
  });

  it('maps array-of-tables sub-tables to their element (v1 components)', () => {
    expect(locateKeyPath(V1, ['component', 1, 'trigger', 'route'], 'value')).toMatchObject({ line: 10, column: 9 });
    expect(locateKeyPath(V1, ['component', 0, 'id'], 'value')).toMatchObject({ line: 4, column: 6 });
  });
});

describe('locateKeyPath in multi-line values', () => {
  it('finds array items and inline-table keys on later lines', () => {
    const text = 'a = 1\n[component.x]\nallowed_outbound_hosts = [\n  "http://ok",\n  "bad",\n]\nsource = "x.wasm"\n';
    expect(locateKeyPath(text, ['component', 'x', 'allowed_outbound_hosts', 1], 'value')).toMatchObject({ line: 5, column: 3, length: 5 });
    expect(locateKeyPath(text, ['component', 'x', 'source'], 'value')).toMatchObject({ line: 7, column: 10 });
  });
});

describe('caretExcerpt', () => {
  it('underlines the span like Spin', () => {
    expect(caretExcerpt('a = 1\nsorce = "x"\n', 2, 1, 5)).toBe('  |\n2 | sorce = "x"\n  | ^^^^^');
  });
});
