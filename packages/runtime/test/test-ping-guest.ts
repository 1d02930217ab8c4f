// Test helper: the worker half of test-ping-capability.ts.
import type { CreateGuestCapability } from '../src/capability.js';

export const createGuestCapability: CreateGuestCapability = (init, { channel }) => {
  const known = new Set((init as { app: string[] }).app);
  return {
    imports: (ctx) => ({
      'spinel:fixtures/unknown': {
        ping: () => {
          if (!known.has(ctx.componentId)) throw new Error('unknown component');
          channel.call('ping.ping', { componentId: ctx.componentId });
        },
      },
    }),
  };
};
