/**
 * Worker half of outbound HTTP: wasi:http/outgoing-handler (with the wasi:http/types that carry
 * real responses) and fermyon:spin/http, every request going over the blocking channel to the
 * main thread, which applies the component's allow-list before any connection.
 */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { InstanceContext } from '../host-registry.js';
import { createOutboundHost, type OutboundHost } from './outbound-http.js';

export const createGuestCapability: CreateGuestCapability = (_init, { channel }): GuestCapability => {
  const hosts = new WeakMap<InstanceContext, OutboundHost>();
  return {
    imports(ctx) {
      const outbound = createOutboundHost({ bridge: channel, componentId: ctx.componentId });
      hosts.set(ctx, outbound);
      return {
        'wasi:http/types': outbound.wasiHttpTypes,
        'wasi:http/outgoing-handler': outbound.wasiOutgoingHandler as unknown as Record<string, unknown>,
        'fermyon:spin/http': outbound.spinHttp as unknown as Record<string, unknown>,
      };
    },
    // Unfinished calls of the previous request are cancelled before and after each one.
    beginRequest: (ctx) => hosts.get(ctx)?.dispose(),
    endRequest: (ctx) => hosts.get(ctx)?.dispose(),
  };
};
