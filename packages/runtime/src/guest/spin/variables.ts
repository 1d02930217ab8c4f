import { failure } from '../wasi/result.js';

/** fermyon:spin/variables `error` as jco lowers it. */
export type SpinVariablesError =
  | { tag: 'invalid-name'; val: string }
  | { tag: 'undefined'; val: string }
  | { tag: 'provider'; val: string }
  | { tag: 'other'; val: string };

/** The variable imports of one instance, in jco's import shape. */
export interface VariablesHost {
  /** `fermyon:spin/variables@2.0.0`: `get(name) → result<string, error>`. */
  spinVariables: { get(name: string): string };
  /** `fermyon:spin/config` (Spin 1.x): `get-config(key) → result<string, error>`. */
  spinConfig: { getConfig(key: string): string };
  /** `wasi:config/store`: `get(key) → result<option<string>, error>`, `get-all() → result<list<tuple<string, string>>, error>`. */
  wasiConfigStore: { get(key: string): string | undefined; getAll(): Array<[string, string]> };
}

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Host implementations over one component's resolved variables (its `config` map). Values
 * never appear in error payloads, only names.
 */
export function createVariablesHost(config: Readonly<Record<string, string>>): VariablesHost {
  const lookup = (name: string): string | undefined => (Object.prototype.hasOwnProperty.call(config, name) ? config[name] : undefined);
  return {
    spinVariables: {
      get(name: string): string {
        if (!NAME.test(name)) throw failure<SpinVariablesError>({ tag: 'invalid-name', val: `invalid variable name ${JSON.stringify(name)}: use lower_snake_case` });
        const value = lookup(name);
        if (value === undefined) throw failure<SpinVariablesError>({ tag: 'undefined', val: `no variable for ${JSON.stringify(name)}` });
        return value;
      },
    },
    spinConfig: {
      getConfig(key: string): string {
        if (!NAME.test(key)) throw failure({ tag: 'invalid-key', val: `invalid config key ${JSON.stringify(key)}` });
        const value = lookup(key);
        if (value === undefined) throw failure({ tag: 'provider', val: `no config value for ${JSON.stringify(key)}` });
        return value;
      },
    },
    wasiConfigStore: {
      get: (key: string) => lookup(key),
      getAll: () => Object.entries(config).map(([k, v]): [string, string] => [k, v]),
    },
  };
}
