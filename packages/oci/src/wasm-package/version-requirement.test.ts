import { describe, expect, it } from 'vitest';
import { compareSemVer, parseRequirement, parseSemVer, satisfies } from './version-requirement.js';

function matches(requirement: string, version: string): boolean {
  const req = parseRequirement(requirement);
  const v = parseSemVer(version);
  if (req === undefined || v === undefined) throw new Error(`bad input ${requirement} / ${version}`);
  return satisfies(v, req);
}

describe('version requirements as Rust semver reads them', () => {
  it.each([
    ['1.2.3', '1.2.3', true],
    ['1.2.3', '1.9.0', true],
    ['1.2.3', '2.0.0', false],
    ['1.2.3', '1.2.2', false],
    ['0.1', '0.1.7', true],
    ['0.1', '0.2.0', false],
    ['0.0.3', '0.0.4', false],
    ['=1.2.3', '1.2.4', false],
    ['=1.2.3', '1.2.3', true],
    ['~1.2', '1.2.9', true],
    ['~1.2', '1.3.0', false],
    ['>=1, <2', '1.5.0', true],
    ['>=1, <2', '2.0.0', false],
    ['*', '7.0.0', true],
    ['1.*', '1.4.0', true],
    ['1.*', '2.0.0', false],
    ['1.2.3', '1.3.0-alpha.1', false],
    ['>=1.3.0-alpha.1', '1.3.0-alpha.2', true],
    ['>=1.3.0-alpha.1', '1.4.0-alpha.2', false],
  ])('%s matches %s: %s', (requirement, version, expected) => {
    expect(matches(requirement, version)).toBe(expected);
  });

  it('orders pre-releases before the release and numerically', () => {
    const order = ['1.0.0-alpha', '1.0.0-alpha.2', '1.0.0-alpha.10', '1.0.0-beta', '1.0.0', '1.0.1'].map((v) => parseSemVer(v));
    for (let i = 1; i < order.length; i++) expect(compareSemVer(order[i - 1] as never, order[i] as never)).toBe(-1);
  });

  it('reads only semantic versions as releases (tags such as latest or v1.0.0 are not)', () => {
    expect(parseSemVer('latest')).toBeUndefined();
    expect(parseSemVer('v1.0.0')).toBeUndefined();
    expect(parseSemVer('1.0')).toBeUndefined();
    expect(parseRequirement('not a version')).toBeUndefined();
  });
});
