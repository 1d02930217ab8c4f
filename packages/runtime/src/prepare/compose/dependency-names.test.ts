import { describe, expect, it } from 'vitest';
import { inherits, semverCompatible } from './capability-sets.js';
import { matchesImport } from './compose-dependencies.js';

describe('dependency names against import names (Spin\'s matches_import)', () => {
  it.each([
    ['foo:bar/baz@0.1.0', ['foo:bar/baz@0.1.0']],
    ['foo:bar/baz', ['foo:bar/baz@0.1.0', 'foo:bar/baz']],
    ['foo:bar', ['foo:bar/baz@0.1.0', 'foo:bar/baz']],
    ['foo:bar@0.1.0', ['foo:bar/baz@0.1.0']],
    ['foo-bar', ['foo-bar']],
  ])('%s matches %j', (dep, imports) => {
    for (const i of imports) expect(matchesImport(dep, i)).toBe(true);
  });

  it.each([
    ['foo:bar/baz@0.1.0', ['foo:bar/baz']],
    ['foo:bar/baz', ['foo:bar/bub', 'foo:bar/bub@0.1.0']],
    ['foo:bar', ['foo:bub/bib']],
    ['foo:bar@0.1.0', ['foo:bar/baz']],
    ['foo:bar/baz', ['foo:bar/baz-bub', 'foo-bar']],
  ])('%s does not match %j', (dep, imports) => {
    for (const i of imports) expect(matchesImport(dep, i)).toBe(false);
  });
});

describe('inherited configurations', () => {
  it('matches host interfaces by semver-compatible versions', () => {
    expect(semverCompatible('wasi:cli/environment@0.2.6', 'wasi:cli/environment@0.2.3')).toBe(true);
    expect(semverCompatible('wasi:cli/environment@0.2.6', 'wasi:cli/environment@0.3.0')).toBe(false);
    expect(semverCompatible('spin:sqlite/sqlite@3.1.0', 'spin:sqlite/sqlite@3.0.0')).toBe(true);
    expect(semverCompatible('fermyon:spin/key-value', 'fermyon:spin/key-value@2.0.0')).toBe(false);
  });

  it('denies a configuration unless it is inherited, and never touches other imports', () => {
    expect(inherits(undefined, 'fermyon:spin/variables@2.0.0')).toBe(false);
    expect(inherits({ Some: ['variables'] }, 'fermyon:spin/variables@2.0.0')).toBe(true);
    expect(inherits({ Some: ['files'] }, 'wasi:http/outgoing-handler@0.2.3')).toBe(false);
    expect(inherits({ Some: ['allowed_outbound_hosts'] }, 'wasi:http/outgoing-handler@0.2.3')).toBe(true);
    expect(inherits('All', 'wasi:filesystem/preopens@0.2.3')).toBe(true);
    expect(inherits(undefined, 'wasi:clocks/wall-clock@0.2.3')).toBe(true);
    expect(inherits(undefined, 'wasi:filesystem/types@0.2.3')).toBe(true);
  });
});
