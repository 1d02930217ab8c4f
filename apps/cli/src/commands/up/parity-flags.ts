import { readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Flags } from '@oclif/core';
import type { LockedApp } from '@spinel/manifest';
import { CliError } from '../../errors.js';
import { CoalescingWriter, followPolicy, GuestOutputPrinter } from './guest-output.js';
import { retainComponents } from './retain-components.js';
import { parseCountRange, parseDurationRange } from './reuse-flags.js';

/**
 * The `spinel up` flags that exist for parity with Spin's `spin up` (Spin's src/commands/up.rs,
 * crates/trigger/src/cli.rs, crates/trigger-http/src/lib.rs), kept apart from up.ts so the
 * command stays a thin list of steps. The README says what each one means for spinel.
 */
export const parityFlags = {
  'component-id': Flags.string({ char: 'c', multiple: true, description: 'Serve only this component and its routes (repeatable); chaining to a component left out is refused.' }),
  quiet: Flags.boolean({ char: 'q', aliases: ['sh', 'shush'], description: 'Show no component output on the terminal (log files are still written).', default: false, exclusive: ['follow', 'follow-all'] }),
  follow: Flags.string({ multiple: true, description: 'Show only this component\'s stdout/stderr on the terminal, each line prefixed by its id (repeatable). Default: every component\'s.' }),
  'follow-all': Flags.boolean({ description: 'Show every component\'s stdout/stderr on the terminal (the default).', default: false }),
  'allow-transient-write': Flags.boolean({ description: 'Let guests write to their files mounts. Writes go to copies made for this run (shared by its instances, removed when spinel stops), never to the app\'s files, even with --direct-mounts.', default: false }),
  'truncate-logs': Flags.boolean({ description: 'Empty the components\' log files before starting.', default: false }),
  profile: Flags.string({ description: 'Build profile to run ([component.x.profile.<name>]; with --build, its build commands).' }),
  'max-instance-reuse-count': Flags.string({ description: 'Requests one instance may serve: N or a range a..b (spinel uses the upper bound; same as --instance-reuse).' }),
  'max-instance-concurrent-reuse-count': Flags.string({ description: 'Accepted for Spin scripts: N or a..b. A spinel instance serves one request at a time, so this changes nothing.' }),
  'idle-instance-timeout': Flags.string({ description: 'Accepted for Spin scripts: a duration or range (1s, 500ms..2s). A reused spinel instance stays with its worker until its count is reached.' }),
  'disable-pooling': Flags.boolean({ description: 'Accepted for Spin scripts (Wasmtime\'s pooling allocator): spinel has no instance pool to disable.', default: false }),
  'disable-cache': Flags.boolean({ description: 'Accepted for Spin scripts (Wasmtime\'s compilation cache): spinel\'s transpiled components are keyed by digest and verified, and are still used.', default: false, env: 'DISABLE_WASMTIME_CACHE' }),
  'debug-info': Flags.boolean({ description: 'Accepted for Spin scripts (Wasmtime debug info for gdb/lldb): use node --inspect on spinel\'s workers instead.', default: false }),
};

/** The parsed values of {@link parityFlags}. */
export interface ParityFlagValues {
  'component-id'?: string[] | undefined;
  quiet: boolean;
  follow?: string[] | undefined;
  'follow-all': boolean;
  'truncate-logs': boolean;
  'max-instance-reuse-count'?: string | undefined;
  'max-instance-concurrent-reuse-count'?: string | undefined;
  'idle-instance-timeout'?: string | undefined;
}

/** What the parity flags change in a run: the app served, runApp options, and how to finish. */
export interface ParityPlan {
  app: LockedApp;
  /** `instanceReuse` from `--max-instance-reuse-count`, when given. */
  instanceReuse?: number;
  onGuestOutput: (componentId: string, stream: 'stdout' | 'stderr', bytes: Uint8Array) => void;
  /** Prints guest output still waiting for its end of line. */
  flush: () => void;
}

/**
 * Applies the parity flags to an app about to be served: keeps the `-c` components, checks the
 * `--follow` ids (Spin's message), empties log files for `--truncate-logs`, validates the
 * Spin-only values, and routes guest output to the terminal.
 *
 * @throws {CliError} `CLI_UNKNOWN_COMPONENT`, `CLI_INVALID_FLAG`
 */
export async function applyParityFlags(flags: ParityFlagValues, app: LockedApp, logDir: string | null): Promise<ParityPlan> {
  const ids = flags['component-id'] ?? [];
  const served = ids.length === 0 ? app : retainComponents(app, ids);
  const follow = flags.follow ?? [];
  const known = new Set(served.components.map((c) => c.id));
  const unknown = [...new Set(follow)].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new CliError(
      'CLI_UNKNOWN_COMPONENT',
      `The following component(s) specified in --follow do not exist in the application:\n${bullets(unknown)}\nThe following components exist:\n${bullets([...known])}`,
    );
  }
  const reuse = flags['max-instance-reuse-count'] === undefined ? undefined : parseCountRange('max-instance-reuse-count', flags['max-instance-reuse-count']);
  if (flags['max-instance-concurrent-reuse-count'] !== undefined) parseCountRange('max-instance-concurrent-reuse-count', flags['max-instance-concurrent-reuse-count']);
  if (flags['idle-instance-timeout'] !== undefined) parseDurationRange('idle-instance-timeout', flags['idle-instance-timeout']);
  if (flags['truncate-logs'] && logDir !== null) await truncateLogs(logDir);

  const shown = followPolicy({ quiet: flags.quiet, follow, followAll: flags['follow-all'] });
  const terminal = new CoalescingWriter((stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text));
  const printer = new GuestOutputPrinter((stream, text) => terminal.write(stream, text));
  return {
    app: served,
    ...(reuse === undefined ? {} : { instanceReuse: reuse.max }),
    onGuestOutput: (id, stream, bytes) => {
      if (shown(id)) printer.append(id, stream, bytes);
    },
    flush: () => {
      printer.flush();
      terminal.flush();
    },
  };
}

/** Empties `*stdout.txt` / `*stderr.txt` in the log directory, as Spin's `--truncate-logs` does. */
async function truncateLogs(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => /(stdout|stderr)\.txt$/.test(n)).map((n) => truncate(join(dir, n)).catch(() => undefined)));
}

function bullets(items: readonly string[]): string {
  return items.map((i) => `  - ${i}`).join('\n');
}
