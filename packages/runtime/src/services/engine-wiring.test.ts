// The engine's load-time import check once the capabilities are declared.
import { describe, expect, it } from 'vitest';
import { unsupportedImports } from '../guest/host-registry.js';
import { declareCapabilityInterfaces } from '../guest/register-capabilities.js';

describe('capability interfaces at the engine load check', () => {
  it('refuses them until declared, then accepts Spin\'s draft versions of wasi:keyvalue and wasi:config only', () => {
    const drafts = ['wasi:keyvalue/store@0.2.0-draft2', 'wasi:keyvalue/atomics@0.2.0-draft2', 'wasi:config/store@0.2.0-draft-2024-09-27', 'fermyon:spin/key-value@2.0.0', 'fermyon:spin/variables@2.0.0'];
    expect(unsupportedImports(drafts)).toEqual(drafts);
    declareCapabilityInterfaces();
    expect(unsupportedImports(drafts)).toEqual([]);
    expect(unsupportedImports(['wasi:keyvalue/store@0.2.0-draft3', 'wasi:keyvalue/store@0.3.0', 'wasi:config/store@0.3.0', 'wasi:http/types@0.3.0', 'wasi:sockets/tcp@0.2.0'])).toEqual([
      'wasi:keyvalue/store@0.2.0-draft3',
      'wasi:keyvalue/store@0.3.0',
      'wasi:config/store@0.3.0',
      'wasi:http/types@0.3.0',
      'wasi:sockets/tcp@0.2.0',
    ]);
  });
});
