/**
 * The variables capability: `fermyon:spin/variables@2.0.0`, Spin 1's `fermyon:spin/config` and
 * `wasi:config/store` at Spin's draft versions, each component seeing only its own `config`.
 */
import type { Capability, CapabilityService } from '../capability.js';
import { UNVERSIONED, type InterfaceSpec } from '../prepare/interface-set.js';
import { resolveComponentConfig } from './variables.js';

/** What each worker gets: every component's resolved `config`. */
export interface VariablesGuestInit {
  configs: Array<[componentId: string, config: Record<string, string>]>;
}

const VARIABLES_INTERFACES: readonly InterfaceSpec[] = [
  { name: 'fermyon:spin/variables', versions: ['2.0.0'] },
  { name: 'fermyon:spin/config', versions: [UNVERSIONED] },
  { name: 'wasi:config/store', versions: [/^0\.2\.0-draft[\w.-]*$/] },
];

/**
 * The variables capability. Set-up resolves every component's config templates.
 * @throws VariableError `RUNTIME_VARIABLE_UNDEFINED` at set-up (a template names a variable without a value)
 */
export function variablesCapability(): Capability {
  return {
    name: 'variables',
    interfaces: VARIABLES_INTERFACES,
    guestModule: new URL('../guest/spin/variables-guest.js', import.meta.url).href,
    setUp(context): CapabilityService {
      const configs: VariablesGuestInit['configs'] = context.app.components.map((c) => [c.id, resolveComponentConfig(c, context.variables)]);
      return { workerInit: (): VariablesGuestInit => ({ configs }), close: () => undefined };
    },
  };
}
