import { describe, expect, it } from 'vitest';
import { mergeTomlTable } from './toml-merge.js';

describe('merging a snippet into a TOML table', () => {
  // The two cases of Spin's writer tests (crates/templates/src/writer.rs).
  it('appends a missing table at the end', () => {
    const manifest = 'spin_version = "1"\n\n[[component]]\nid = "dummy"\n';
    expect(mergeTomlTable(manifest, 'variables', 'url = { required = true }')).toBe(
      'spin_version = "1"\n\n[[component]]\nid = "dummy"\n\n[variables]\nurl = { required = true }\n',
    );
  });

  it('adds keys after the last entry of an existing table', () => {
    const manifest = 'spin_version = "1"\n\n[variables]\nsecret = { default = "1234 but don\'t tell anyone!" }\n\n[[component]]\nid = "dummy"\n';
    expect(mergeTomlTable(manifest, 'variables', 'url = { required = true }')).toBe(
      'spin_version = "1"\n\n[variables]\nsecret = { default = "1234 but don\'t tell anyone!" }\nurl = { required = true }\n\n[[component]]\nid = "dummy"\n',
    );
  });

  it('replaces an existing key in place and leaves comments and spacing alone', () => {
    const manifest = [
      '# app',
      'spin_manifest_version = 2',
      '[variables]  # the app variables',
      '# the secret',
      'secret = { required = true }',
      'list = [',
      '  "a",  # ] not the end',
      ']',
      '',
      '# components below',
      '[component.web]',
      'source = "web.wasm"',
      '',
    ].join('\n');
    const merged = mergeTomlTable(manifest, 'variables', 'secret = { default = "x" }\n# where to call\nurl = { default = "https://example.com" }\n');
    expect(merged).toBe(
      [
        '# app',
        'spin_manifest_version = 2',
        '[variables]  # the app variables',
        '# the secret',
        'secret = { default = "x" }',
        'list = [',
        '  "a",  # ] not the end',
        ']',
        '# where to call',
        'url = { default = "https://example.com" }',
        '',
        '# components below',
        '[component.web]',
        'source = "web.wasm"',
        '',
      ].join('\n'),
    );
  });

  it('refuses what it cannot edit safely, saying what to add by hand', () => {
    expect(() => mergeTomlTable('variables = { a = { default = "1" } }\n', 'variables', 'b = { default = "2" }')).toThrow(
      expect.objectContaining({ code: 'CLI_MANIFEST_EDIT', message: expect.stringMatching(/add these lines to it by hand:\nb = /) }),
    );
    expect(() => mergeTomlTable('not toml = = =', 'variables', 'b = 1')).toThrow(expect.objectContaining({ code: 'CLI_MANIFEST_EDIT', message: expect.stringMatching(/not valid TOML/) }));
    expect(() => mergeTomlTable('a = 1\n', 'variables', '[x]\nb = 1')).toThrow(expect.objectContaining({ code: 'CLI_MANIFEST_EDIT' }));
  });
});
