/**
 * Starting a module of this package as a child process, from its TypeScript source (through
 * tsx, as the tests and `pnpm test:reliability` run) or from its build.
 */
import { fork } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Forks `name` (a module next to this one, without extension) with an IPC channel. */
export function forkModule(name: string, args: readonly string[] = [], options: { stdio?: StdioOptions; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const here = import.meta.url;
  const ts = here.endsWith('.ts');
  const file = fileURLToPath(new URL(`./${name}${ts ? '.ts' : '.js'}`, here));
  return fork(file, [...args], {
    execArgv: ts ? ['--import', 'tsx'] : [],
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe', 'ipc'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
}

/** Waits for a child to exit; resolves with its code, or the signal that ended it. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
