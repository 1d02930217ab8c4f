/// <reference lib="dom" />
/**
 * Runs a WAGI module (a WASI preview1 command) once, synchronously, on the in-memory
 * preview1 of `preview1.ts`. Pure apart from reading the preopened directories: no
 * globals, safe to call from any thread.
 */
import type { WagiInvocation, WagiResult } from '../../pool/executor-types.js';
import { WagiError } from '../../errors.js';
import { Preview1, ProcExit } from './preview1.js';

const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);
// Which import namespaces a checked module uses: a memo of facts about immutable modules, not state.
const checked = new WeakMap<WebAssembly.Module, string[]>();

/**
 * Import modules besides preview1 that a host offers WAGI modules (Spin 0.x's
 * `wasi_experimental_http`): built per run over the instance's memory, once it exists.
 */
export type WagiExtraImports = Readonly<Record<string, (memory: () => WebAssembly.Memory) => WebAssembly.ModuleImports>>;

/**
 * Checks that a module is a WASI preview1 command we can run: it exports `_start` and
 * `memory` and imports nothing but preview1 functions.
 * @throws {WagiError} `RUNTIME_WAGI_INVALID_MODULE` naming what is missing or unsupported.
 */
export function checkWagiModule(module: WebAssembly.Module, componentId = 'the WAGI component', extra: readonly string[] = []): void {
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw new WagiError('RUNTIME_WAGI_INVALID_MODULE', `${componentId} is not a WASI command: it does not export \`_start\`. A WAGI executor needs a WASI preview1 command module.`);
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new WagiError('RUNTIME_WAGI_INVALID_MODULE', `${componentId} does not export its memory; WAGI modules must export \`memory\`.`);
  }
  const unsupported = WebAssembly.Module.imports(module).filter((i) => !(WASI_MODULES.has(i.module) || extra.includes(i.module)) || i.kind !== 'function');
  if (unsupported.length > 0) {
    const names = unsupported.map((i) => `${i.module}.${i.name}`).join(', ');
    throw new WagiError('RUNTIME_WAGI_INVALID_MODULE', `${componentId} imports what a WAGI host does not provide: ${names}. Only wasi_snapshot_preview1${extra.map((e) => `, ${e}`).join('')} functions are available.`);
  }
}

/**
 * Instantiates `module` with a fresh preview1 context and runs `_start`: args, environ
 * and stdin from the invocation, stdout/stderr collected, preopens read-only.
 * `proc_exit(n)` ends the run with exit code `n`; a trap is thrown to the caller.
 * @throws {WagiError} `RUNTIME_WAGI_INVALID_MODULE` for a module that is not a preview1 command.
 */
export function runWagi(module: WebAssembly.Module, invocation: WagiInvocation, extra: WagiExtraImports = {}): WagiResult {
  let namespaces = checked.get(module);
  if (namespaces === undefined) {
    checkWagiModule(module, undefined, Object.keys(extra));
    namespaces = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
    checked.set(module, namespaces);
  }
  const wasi = new Preview1({ args: invocation.argv, env: invocation.env, stdin: invocation.stdin, preopens: invocation.preopens });
  const bound: { memory?: WebAssembly.Memory } = {};
  const memoryOf = (): WebAssembly.Memory => {
    if (bound.memory === undefined) throw new Error('the module called the host before it was instantiated');
    return bound.memory;
  };
  const imports: WebAssembly.Imports = {};
  for (const name of namespaces) imports[name] = extra[name]?.(memoryOf) ?? (wasi.imports as WebAssembly.ModuleImports);
  const instance = new WebAssembly.Instance(module, imports);
  bound.memory = instance.exports['memory'] as WebAssembly.Memory;
  wasi.bind(bound.memory);
  let exitCode = 0;
  try {
    (instance.exports['_start'] as () => void)();
  } catch (err) {
    if (!(err instanceof ProcExit)) throw err;
    exitCode = err.code;
  }
  return { stdout: wasi.stdout(), stderr: wasi.stderr(), exitCode };
}
