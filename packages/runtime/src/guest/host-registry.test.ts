import { describe, expect, it } from 'vitest';
import { addRequestScope, beginRequest, endRequest, interfaceKey, unsupportedImports } from './host-registry.js';

describe('imports registry', () => {
  it('links any WASI 0.2.x version to one implementation and refuses others, by name', () => {
    expect(interfaceKey('wasi:http/types@0.2.3')).toBe('wasi:http/types');
    expect(unsupportedImports(['wasi:http/types@0.2.0', 'wasi:io/streams@0.2.12', 'wasi:cli/stdout'])).toEqual([]);
    expect(unsupportedImports(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0'])).toEqual(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0']);
  });

  it('begins and ends every request scope, ending all even when one throws', () => {
    const ctx = { componentId: 'c', env: [], mounts: [], stdout: { write() {} }, stderr: { write() {} }, blocker: { wait() {} } };
    const seen: string[] = [];
    const removeA = addRequestScope({ begin: (c) => seen.push(`a+${c.componentId}`), end: () => { seen.push('a-'); throw new Error('a failed'); } });
    const removeB = addRequestScope({ begin: () => seen.push('b+'), end: () => seen.push('b-') });
    try {
      beginRequest(ctx);
      expect(() => endRequest(ctx)).toThrow('a failed');
      expect(seen).toEqual(['a+c', 'b+', 'a-', 'b-']);
    } finally {
      removeA();
      removeB();
    }
    beginRequest(ctx);
    expect(seen).toHaveLength(4);
  });
});
