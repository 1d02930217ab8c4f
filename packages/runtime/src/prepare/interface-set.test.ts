import { describe, expect, it } from 'vitest';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { keyValueCapability } from '../services/key-value-capability.js';
import { outboundHttpCapability } from '../services/outbound-http-capability.js';
import { variablesCapability } from '../services/variables-capability.js';
import { InterfaceSet, interfaceKey } from './interface-set.js';

const capabilities = [keyValueCapability(), variablesCapability(), outboundHttpCapability()].flatMap((c) => c.interfaces);

describe('interface sets (the load-time import check)', () => {
  it('links any WASI 0.2.x version to one implementation and refuses others, by name', () => {
    const wasi = new InterfaceSet(WASI_INTERFACES);
    expect(interfaceKey('wasi:http/types@0.2.3')).toBe('wasi:http/types');
    expect(wasi.unsupported(['wasi:http/types@0.2.0', 'wasi:io/streams@0.2.12', 'wasi:cli/stdout'])).toEqual([]);
    expect(wasi.unsupported(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0'])).toEqual(['wasi:http/types@0.3.0-rc-2025-08-15', 'fermyon:spin/llm@2.0.0']);
  });

  it('accepts the capabilities\' interfaces only in a set made with them, at the versions each serves', () => {
    const drafts = ['wasi:keyvalue/store@0.2.0-draft2', 'wasi:keyvalue/atomics@0.2.0-draft2', 'wasi:config/store@0.2.0-draft-2024-09-27', 'fermyon:spin/key-value@2.0.0', 'fermyon:spin/variables@2.0.0', 'fermyon:spin/config', 'fermyon:spin/http'];
    const without = new InterfaceSet(WASI_INTERFACES);
    const withCaps = new InterfaceSet([...WASI_INTERFACES, ...capabilities]);
    expect(without.unsupported(drafts)).toEqual(drafts);
    expect(withCaps.unsupported(drafts)).toEqual([]);
    // Making one set never changes another.
    expect(new InterfaceSet(WASI_INTERFACES).unsupported(drafts)).toEqual(drafts);
    expect(
      withCaps.unsupported([
        'wasi:keyvalue/store@0.2.0-draft3',
        'wasi:keyvalue/store@0.3.0',
        'wasi:config/store@0.3.0',
        'wasi:http/types@0.3.0',
        'wasi:sockets/tcp@0.2.0',
        'fermyon:spin/key-value@3.0.0',
        'fermyon:spin/config@2.0.0',
      ]),
    ).toEqual(['wasi:keyvalue/store@0.2.0-draft3', 'wasi:keyvalue/store@0.3.0', 'wasi:config/store@0.3.0', 'wasi:http/types@0.3.0', 'wasi:sockets/tcp@0.2.0', 'fermyon:spin/key-value@3.0.0', 'fermyon:spin/config@2.0.0']);
  });
});
