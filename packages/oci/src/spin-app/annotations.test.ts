import { describe, expect, it } from 'vitest';
import { parseAnnotations } from './annotations.js';

describe('parseAnnotations', () => {
  it('splits at the first = and lets later keys win', () => {
    expect(parseAnnotations(['a=1', 'b=x=y', 'a=2', 'empty='])).toEqual({ a: '2', b: 'x=y', empty: '' });
  });
  it('refuses entries without a key', () => {
    expect(() => parseAnnotations(['novalue'])).toThrow(expect.objectContaining({ code: 'OCI_ANNOTATION_INVALID' }) as Error);
    expect(() => parseAnnotations(['=v'])).toThrow(expect.objectContaining({ code: 'OCI_ANNOTATION_INVALID' }) as Error);
  });
});
