import { describe, expect, it } from 'vitest';
import { ManifestAggregateError } from './errors.js';
import { parseManifest } from './parse-manifest.js';
import { findOverlongKey } from './toml-limits.js';

function refused(text: string): ManifestAggregateError {
  try {
    parseManifest(text, { path: '/app/spin.toml' });
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestAggregateError);
    return e as ManifestAggregateError;
  }
  throw new Error('expected the manifest to be rejected');
}

const HEAD = 'spin_manifest_version = 2\n[application]\nname = "app"\n';
const keyOf = (n: number, part = 'a'): string => Array.from({ length: n }, () => part).join('.');

describe('a table header with 50,000 dotted parts', () => {
  it('is refused before parsing with MANIFEST_KEY_TOO_DEEP and its line:column (headers, dotted keys, quoted parts)', () => {
    for (const [text, line, column] of [
      [`${HEAD}[${keyOf(50_000)}]\nx = 1\n`, 4, 2],
      [`${HEAD}[[trigger.http]]\nroute = "/..."\n  ${keyOf(50_000)} = 1\n`, 6, 3],
      [`${HEAD}x = { y = 1, ${keyOf(40, '"q"')} = 2 }\n`, 4, 14],
    ] as const) {
      const err = refused(text);
      expect(err.errors.map((e) => [e.code, e.line, e.column])).toEqual([['MANIFEST_KEY_TOO_DEEP', line, column]]);
      expect(err.errors[0]?.format()).toContain(`/app/spin.toml:${line}:${column}: error[MANIFEST_KEY_TOO_DEEP]`);
    }
  });

  it('leaves keys up to the bound, values with dots, strings and comments alone', () => {
    expect(findOverlongKey(`[${keyOf(32)}]\n`)).toBeUndefined();
    expect(findOverlongKey(`[${keyOf(33)}]\n`)).toMatchObject({ line: 1, column: 2, parts: 33 });
    expect(findOverlongKey(`a = "${keyOf(100)}"\nb = '${keyOf(100)}'\n# ${keyOf(100)}\nc = 1.5\nd = 1979-05-27T07:32:00.999-07:00\n`)).toBeUndefined();
    expect(findOverlongKey(`a = """\n${keyOf(100)}\n"""\nb = '''${keyOf(100)}'''\n[${keyOf(33)}]\n`)).toMatchObject({ line: 5, column: 2 });
  });

  it('a header deeper than the path of a problem still locates it', () => {
    const err = refused(`${HEAD}[${keyOf(20)}]\nx = 1\n`);
    expect(err.errors.map((e) => [e.code, e.line, e.column])).toEqual([
      ['MANIFEST_UNKNOWN_FIELD', 4, 2],
      ['MANIFEST_MISSING_FIELD', 1, 1],
    ]);
  });
});

describe('an invalid unicode component id', () => {
  it('reports the invalid id, not "trigger has neither component nor static_response"', () => {
    const err = refused(`${HEAD}[[trigger.http]]\nroute = "/..."\ncomponent = "wéb"\n[component."wéb"]\nsource = "a.wasm"\n`);
    expect(err.errors.map((e) => [e.code, e.line, e.column])).toEqual([
      ['MANIFEST_INVALID_ID', 6, 13],
      ['MANIFEST_INVALID_ID', 7, 12],
    ]);
    expect(err.errors[0]?.message).toBe(`invalid component reference "wéb": '-'-separated words may only contain alphanumeric ASCII; got 'é'`);
    expect(err.message).not.toContain('neither');
  });

  it('still says "neither" when the trigger really has no component', () => {
    const err = refused(`${HEAD}[[trigger.http]]\nroute = "/..."\n`);
    expect(err.errors.map((e) => e.code)).toEqual(['MANIFEST_TRIGGER_COMPONENT_OR_STATIC_RESPONSE']);
    expect(err.errors[0]?.message).toContain('has neither');
  });
});

describe('a manifest with thousands of problems', () => {
  it('lists the first hundred, located, and counts the rest in the message', () => {
    let text = HEAD;
    for (let i = 0; i < 2_000; i++) text += `[[trigger.http]]\nroute = "/x${i}"\nbogus${i} = 1\n`;
    const err = refused(text);
    expect(err.total).toBe(4_000);
    expect(err.errors).toHaveLength(100);
    expect(err.message.split('\n')[0]).toBe('Found 4000 problems in "/app/spin.toml"; the first 100 are listed, fix them and try again:');
    // Located through the one index: the first unknown field is on its own line.
    expect(err.errors.find((e) => e.message.includes('bogus0'))).toMatchObject({ code: 'MANIFEST_UNKNOWN_FIELD', line: 6, column: 1 });
  });

  it('says nothing about a list when every problem is listed', () => {
    const err = refused(`${HEAD}[[trigger.http]]\nroute = "/x"\nbogus = 1\n`);
    expect(err.total).toBe(err.errors.length);
    expect(err.message).not.toContain('are listed');
  });
});
