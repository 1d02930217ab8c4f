/** Worker half of the variables capability: each component's resolved `config`, nothing else. */
import type { CreateGuestCapability, GuestCapability } from '../../capability.js';
import type { VariablesGuestInit } from '../../services/variables-capability.js';
import { createVariablesHost } from './variables.js';

export const createGuestCapability: CreateGuestCapability = (raw): GuestCapability => {
  const configs = new Map((raw as VariablesGuestInit).configs);
  return {
    imports(ctx) {
      const host = createVariablesHost(configs.get(ctx.componentId) ?? {});
      return {
        'fermyon:spin/variables': host.spinVariables as unknown as Record<string, unknown>,
        'fermyon:spin/config': host.spinConfig as unknown as Record<string, unknown>,
        'wasi:config/store': host.wasiConfigStore as unknown as Record<string, unknown>,
      };
    },
  };
};
