import { describe, expect, it } from 'vitest';
import type { GuestCapability } from '../capability.js';
import { HostRegistry, type InstanceContext } from './host-registry.js';
import { wasiHostInterfaces } from './wasi/host.js';

const ctx: InstanceContext = { componentId: 'c', env: [], mounts: [], stdout: { write() {} }, stderr: { write() {} }, blocker: { wait() {} } };

describe('host registry of a worker', () => {
  it('begins and ends every capability\'s request, ending all even when one throws', () => {
    const seen: string[] = [];
    const a: GuestCapability = { imports: () => ({}), beginRequest: (c) => void seen.push(`a+${c.componentId}`), endRequest: () => { seen.push('a-'); throw new Error('a failed'); } };
    const b: GuestCapability = { imports: () => ({}), beginRequest: () => void seen.push('b+'), endRequest: () => void seen.push('b-') };
    const registry = new HostRegistry(wasiHostInterfaces(), [a, b]);
    registry.beginRequest(ctx);
    expect(() => registry.endRequest(ctx)).toThrow('a failed');
    expect(seen).toEqual(['a+c', 'b+', 'a-', 'b-']);
  });

  it('lets a capability replace a WASI interface, builds its imports once per component, and leaves other registries alone', () => {
    let built = 0;
    const replacing: GuestCapability = {
      imports: () => {
        built++;
        return { 'wasi:http/outgoing-handler': { handle: 'capability' } };
      },
    };
    const withCap = new HostRegistry(wasiHostInterfaces(), [replacing]);
    const plain = new HostRegistry(wasiHostInterfaces());
    const names = ['wasi:http/outgoing-handler@0.2.3', 'wasi:cli/environment@0.2.3'];
    expect(withCap.buildImports(names, ctx)['wasi:http/outgoing-handler']).toEqual({ handle: 'capability' });
    withCap.buildImports(names, ctx);
    expect(built).toBe(1);
    expect(typeof plain.buildImports(names, ctx)['wasi:http/outgoing-handler']?.['handle']).toBe('function');
    expect(Object.keys(plain.buildImports(names, ctx))).toEqual(['wasi:http/outgoing-handler', 'wasi:cli/environment']);
  });
});
