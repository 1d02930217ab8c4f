import { describe, expect, it } from 'vitest';
import { HOST_INTERFACES, interfaceKey, onlyEngineInterfaces, unsupportedImports, type HostInterfaceFactory } from './registry.js';

describe('imports registry', () => {
  it('links any WASI 0.2.x version to one implementation and refuses others, by name', () => {
    expect(interfaceKey('wasi:http/types@0.2.3')).toBe('wasi:http/types');
    expect(unsupportedImports(['wasi:http/types@0.2.0', 'wasi:io/streams@0.2.12', 'wasi:cli/stdout'])).toEqual([]);
    expect(unsupportedImports(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0'])).toEqual(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0']);
  });

  it('tells when a capability replaced or added a factory, so imports are built per instance', () => {
    const registry = HOST_INTERFACES as Map<string, HostInterfaceFactory>;
    expect(onlyEngineInterfaces(['wasi:http/types@0.2.3', 'wasi:http/outgoing-handler@0.2.3'])).toBe(true);
    const original = registry.get('wasi:http/outgoing-handler');
    try {
      registry.set('wasi:http/outgoing-handler', () => ({}));
      registry.set('fermyon:spin/key-value', () => ({}));
      expect(onlyEngineInterfaces(['wasi:http/outgoing-handler@0.2.3'])).toBe(false);
      expect(onlyEngineInterfaces(['fermyon:spin/key-value@2.0.0'])).toBe(false);
      expect(onlyEngineInterfaces(['wasi:io/streams@0.2.3'])).toBe(true);
    } finally {
      if (original !== undefined) registry.set('wasi:http/outgoing-handler', original);
      registry.delete('fermyon:spin/key-value');
    }
  });
});
