import { describe, expect, it } from 'vitest';
import { renderError } from './render-error.js';

describe('renderError', () => {
  it('prints message, cause chain and code without a stack for coded errors', () => {
    const cause = new Error('connection reset');
    const err = Object.assign(new Error('could not pull', { cause }), { code: 'OCI_PULL_FAILED' });
    const out = renderError(err);
    expect(out.text).toContain('Error: could not pull');
    expect(out.text).toContain('caused by: connection reset');
    expect(out.text).toContain('Code: OCI_PULL_FAILED');
    expect(out.text).not.toContain('    at ');
    expect(out.exitCode).toBe(1);
  });

  it('shows the stack of an unexpected error, which is a bug', () => {
    const out = renderError(new TypeError('x is undefined'));
    expect(out.code).toBe('INTERNAL');
    expect(out.text).toContain('    at ');
  });
});
