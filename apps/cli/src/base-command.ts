import { Command, Flags } from '@oclif/core';
import { renderError } from './render-error.js';
import { nearest } from './suggest.js';

/**
 * Base for every spinel command: one error boundary, `--json`, and helpers for output.
 *
 * Libraries throw errors with a stable `code`; this is the only place they are turned
 * into what a user reads (a plain message, the code, exit status 1, no stack trace for
 * a user mistake).
 */
export abstract class SpinelCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    ...Command.baseFlags,
  };

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own exits (help, version, this.exit) and flag-parsing errors keep their handling,
    // with the nearest known flag named for an unknown one.
    if (err.oclif !== undefined || (err as { code?: unknown }).code === 'EEXIT') {
      suggestFlags(err, this.constructor as typeof SpinelCommand);
      throw err;
    }
    const rendered = renderError(err, { debug: isDebug() });
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: rendered.code, message: rendered.message } });
    } else {
      process.stderr.write(rendered.text);
    }
    this.exit(rendered.exitCode);
  }
}

/** `--cache-dir`, shared by the commands that read or write the cache. */
export const cacheDirFlag = Flags.directory({
  description: 'Cache root (Spin-compatible layout under <dir>/registry). Default: $SPINEL_CACHE_DIR or ~/.cache/spinel.',
  env: 'SPINEL_CACHE_DIR',
});

/** Adds `(did you mean --x?)` to oclif's "Nonexistent flag" error for each unknown flag close to a known one. */
function suggestFlags(err: Error, command: typeof SpinelCommand): void {
  const unknown = (err as { flags?: unknown }).flags;
  if (!Array.isArray(unknown) || !err.message.startsWith('Nonexistent flag')) return;
  const flags = { ...command.baseFlags, ...command.flags } as Record<string, { aliases?: string[]; char?: string } | undefined>;
  const names = Object.entries(flags).flatMap(([name, f]) => [name, ...(f?.aliases ?? [])]);
  const described = (unknown as string[]).map((flag) => {
    const guess = nearest(flag.replace(/^-+/, '').split('=')[0] ?? flag, names);
    return guess === undefined ? flag : `${flag} (did you mean --${guess}?)`;
  });
  err.message = `Nonexistent flag${described.length === 1 ? '' : 's'}: ${described.join(', ')}\nSee more help with --help`;
}

function isDebug(): boolean {
  const debug = process.env['DEBUG'] ?? '';
  return /(^|,)\s*(spinel|\*)/.test(debug);
}
