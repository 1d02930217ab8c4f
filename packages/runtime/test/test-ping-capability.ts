// Test helper: a capability added through the seam (capability.ts), serving the fixtures'
// `spinel:fixtures/unknown@0.1.0` interface: each `ping()` a guest makes is a channel call that the
// main-thread service counts.
import type { Capability } from '../src/capability.js';

/** The ping capability and what its service saw. */
export function pingCapability(): { capability: Capability; pings: string[]; closed: () => boolean; workerInits: () => number } {
  const pings: string[] = [];
  let closed = false;
  let inits = 0;
  const capability: Capability = {
    name: 'ping',
    interfaces: [{ name: 'spinel:fixtures/unknown', versions: ['0.1.0'] }],
    guestModule: new URL('./test-ping-guest.ts', import.meta.url).href,
    setUp: (context) => ({
      handlers: {
        'ping.ping': (args) => {
          pings.push((args as { componentId: string }).componentId);
          return 'pong';
        },
      },
      workerInit: () => {
        inits++;
        return { app: context.app.components.map((c) => c.id) };
      },
      close: () => {
        closed = true;
      },
    }),
  };
  return { capability, pings, closed: () => closed, workerInits: () => inits };
}

/**
 * A wasi:http component importing `spinel:fixtures/unknown@0.1.0` `ping`: its handler pings, then
 * traps (the fixture WAT has no response-building code; the trap proves the call returned).
 */
export const PING_WAT = `(module
  (import "spinel:fixtures/unknown@0.1.0" "ping" (func $ping))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "wasi:http/incoming-handler@0.2.3#handle") (param i32 i32)
    (call $ping)
    unreachable))`;
