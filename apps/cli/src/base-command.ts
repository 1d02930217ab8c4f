import { Command, Flags } from '@oclif/core';
import { renderError } from './render-error.js';

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
    // oclif's own exits (help, version, this.exit) and flag-parsing errors keep their handling.
    if (err.oclif !== undefined || (err as { code?: unknown }).code === 'EEXIT') {
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

function isDebug(): boolean {
  const debug = process.env['DEBUG'] ?? '';
  return /(^|,)\s*(spinel|\*)/.test(debug);
}
