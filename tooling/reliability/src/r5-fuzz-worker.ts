/**
 * R5's child process: parses (and, when the parse succeeds, locks) each manifest it is sent
 * and answers with the outcome and the CPU the case took. A separate process, so the
 * parent can measure and stop a case that runs away.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockApp, ManifestAggregateError, ManifestError, parseManifest } from '@spinel/manifest';

/** A case sent by the parent. */
export interface FuzzCase {
  readonly seq: number;
  readonly text: string;
}

/** The answer for one case. */
export interface FuzzOutcome {
  readonly seq: number;
  /** `parsed` (and locked, or refused at lock with codes), `refused` (coded), or `crash`. */
  readonly kind: 'parsed' | 'refused' | 'crash';
  /** For a crash: what was thrown, or the codes that were missing. */
  readonly detail?: string;
  readonly cpuMs: number;
}

// The suite owns the scratch directory (it removes it even when it had to SIGKILL this process).
const scratch = process.argv[2] ?? '';
const appDir = join(scratch, 'app');
for (const [path, content] of Object.entries({ 'web.wasm': '\0asm\u0001\0\0\0', 'api.wasm': '\0asm\u0001\0\0\0', 'static/a.txt': 'a', 'data/b': 'b', 'top.txt': 't' })) {
  mkdirSync(join(appDir, path, '..'), { recursive: true });
  writeFileSync(join(appDir, path), content);
}
const work = join(scratch, 'work');
mkdirSync(work, { recursive: true });
process.once('disconnect', () => process.exit(0));

/** Whether an error is what a bad manifest must give: a ManifestError whose every entry has a code. */
function uncoded(err: unknown): string | undefined {
  if (!(err instanceof ManifestError)) return `not a ManifestError: ${(err as Error)?.stack ?? String(err)}`;
  if (!/^MANIFEST_[A-Z_]+$/.test(err.code) || err.message === '') return `bad code or empty message: ${err.code}`;
  if (err instanceof ManifestAggregateError) {
    if (err.errors.length === 0) return 'an aggregate with no errors';
    for (const e of err.errors) if (!/^MANIFEST_[A-Z_]+$/.test(e.code) || e.message === '') return `an entry without a code: ${e.code} ${e.message}`;
  }
  return undefined;
}

process.on('message', (message: FuzzCase) => {
  void (async () => {
    const before = process.cpuUsage();
    let kind: FuzzOutcome['kind'] = 'parsed';
    let detail: string | undefined;
    try {
      const parsed = parseManifest(message.text, { path: 'spin.toml' });
      const dir = join(work, String(message.seq));
      try {
        await lockApp(parsed, { appDir, workingDir: dir, resolver: async (_url, digest) => ({ path: `/nonexistent/${digest}` }) });
      } catch (err) {
        detail = uncoded(err);
        if (detail !== undefined) kind = 'crash';
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } catch (err) {
      detail = uncoded(err);
      kind = detail === undefined ? 'refused' : 'crash';
    }
    const used = process.cpuUsage(before);
    const outcome: FuzzOutcome = { seq: message.seq, kind, ...(detail === undefined ? {} : { detail }), cpuMs: (used.user + used.system) / 1000 };
    process.send?.(outcome);
  })();
});
process.send?.({ ready: true });
