import { describe, expect, it } from 'vitest';
import { dottedPascalCase, httpWildcard, kebabCase, pascalCase, snakeCase, words } from './filters.js';

// Expected values are those of Spin's filter tests (Spin's crates/templates/src/run.rs and
// filters.rs) and of the heck crate's word splitting they rely on.
describe("Spin's template filters", () => {
  it('split words as heck does', () => {
    expect(words('originally_snaky')).toEqual(['originally', 'snaky']);
    expect(words('HTTPServer')).toEqual(['HTTP', 'Server']);
    expect(words('myHTTPServer2Go')).toEqual(['my', 'HTTP', 'Server2', 'Go']);
    expect(words('abc1Def')).toEqual(['abc1', 'Def']);
    expect(words('  hello   world  ')).toEqual(['hello', 'world']);
  });

  it('convert case', () => {
    expect(kebabCase('originally_snaky')).toBe('originally-snaky');
    expect(snakeCase('originally-kebabby')).toBe('originally_kebabby');
    expect(pascalCase('originally_snaky')).toBe('OriginallySnaky');
    expect(kebabCase('My Project')).toBe('my-project');
    expect(snakeCase('hello 2')).toBe('hello_2');
    expect(pascalCase('XMLHttpRequest')).toBe('XmlHttpRequest');
  });

  it('dotted_pascal_case keeps the dots', () => {
    expect(dottedPascalCase('originally.semi-dotted')).toBe('Originally.SemiDotted');
    expect(dottedPascalCase('Fermyon.PetStore')).toBe('Fermyon.PetStore');
    expect(dottedPascalCase('fermyon-pet-store')).toBe('FermyonPetStore');
    expect(dottedPascalCase('fermyon_pet_store')).toBe('FermyonPetStore');
    expect(dottedPascalCase('fermyon.pet_store')).toBe('Fermyon.PetStore');
    expect(dottedPascalCase('fermyon pet store')).toBe('FermyonPetStore');
  });

  it('http_wildcard adds /... once', () => {
    expect(httpWildcard('/static')).toBe('/static/...');
    expect(httpWildcard('/static/')).toBe('/static/...');
    expect(httpWildcard('/static/...')).toBe('/static/...');
    expect(httpWildcard('/')).toBe('/...');
  });
});
