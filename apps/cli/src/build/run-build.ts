import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliError } from '../errors.js';

/** What a build did (`spinel build --json`). */
export interface BuildResult {
  built: { component: string; commands: string[] }[];
  skipped: string[];
}

/** Options of {@link runBuild}. */
export interface RunBuildOptions {
  /** Absolute path of spin.toml. */
  manifestPath: string;
  profile?: string | undefined;
  /** Only these components (all when absent). */
  componentIds?: readonly string[] | undefined;
  /** Progress lines (Spin's wording). */
  out: (line: string) => void;
  /** Where the build commands' own stdout goes: the terminal, or stderr (so stdout stays JSON). */
  commandStdout: 'inherit' | 'stderr';
  /** Notes (warnings, target-check notice) go here. */
  warn: (line: string) => void;
  skipTargetChecks?: boolean;
  /**
   * Stops the running command (its whole process group) when aborted; the build then fails
   * with `CLI_BUILD_FAILED`. Commands run in their own process group only when a signal is
   * given (`spinel watch`), so Ctrl-C in a plain `spinel build` reaches them directly.
   */
  signal?: AbortSignal;
}

/**
 * Runs the components' `[component.<id>.build]` commands through the shell, each in its
 * workdir (relative to the manifest), in manifest order, stopping at the first failure; prints
 * `Building component <id> with \`<cmd>\`` and `Finished building all Spin components` as Spin does.
 *
 * @throws {CliError} `CLI_BUILD_FAILED`, `CLI_UNKNOWN_COMPONENT`; manifest errors from @spinel/manifest
 */
export async function runBuild(options: RunBuildOptions): Promise<BuildResult> {
  const manifest = await import('@spinel/manifest');
  const path = options.manifestPath;
  const parsed = await manifest.readManifest(path);
  for (const w of parsed.warnings) {
    const where = [path, w.line, w.column].filter((v) => v !== undefined).join(':');
    options.warn(`${where}: warning[${w.code}]: ${w.message}`);
  }
  const { profile } = options;
  if (profile !== undefined && !Object.values(parsed.manifest.components).some((c) => Object.hasOwn(c.profile, profile))) {
    throw Object.assign(new Error(`Profile ${profile} is not defined in this application`), { code: 'MANIFEST_UNKNOWN_PROFILE' });
  }
  const { manifest: app } = manifest.normalizeManifest(parsed.manifest, profile);
  const wanted = options.componentIds;
  if (wanted !== undefined && wanted.length > 0) {
    const unknown = wanted.filter((id) => !Object.hasOwn(app.components, id));
    if (unknown.length > 0) {
      throw new CliError('CLI_UNKNOWN_COMPONENT', `Unknown component ${unknown.map((u) => `'${u}'`).join(', ')}; the app's components are: ${Object.keys(app.components).join(', ')}`);
    }
  }
  if (options.skipTargetChecks !== true) await noteTargets(path, options.warn);
  const appDir = dirname(path);
  const result: BuildResult = { built: [], skipped: [] };
  for (const [id, component] of Object.entries(app.components)) {
    if (wanted !== undefined && wanted.length > 0 && !wanted.includes(id)) continue;
    const build = component.build;
    if (build === undefined || build.commands.length === 0) {
      options.out(`No build command for component ${id}`);
      result.skipped.push(id);
      continue;
    }
    const workdir = build.workdir === undefined ? appDir : resolve(appDir, build.workdir);
    for (const command of build.commands) {
      options.out(`Building component ${id} with \`${command}\``);
      const status = await runShell(command, workdir, options.commandStdout, options.signal);
      if (status.aborted) throw new CliError('CLI_BUILD_FAILED', `Build of component ${id} was stopped: \`${command}\``);
      if (status.code !== 0) {
        const how = status.signal === null ? `status ${status.code}` : `signal ${status.signal}`;
        throw new CliError('CLI_BUILD_FAILED', `Build command for component ${id} failed with ${how}: \`${command}\` (in ${workdir}). Fix the command's errors above and run the build again.`);
      }
    }
    result.built.push({ component: id, commands: [...build.commands] });
  }
  options.out('Finished building all Spin components');
  return result;
}

/** Spin checks components against the manifest's deployment `targets`; spinel cannot, and says so. */
async function noteTargets(path: string, warn: (line: string) => void): Promise<void> {
  const { parse } = await import('smol-toml');
  let targets: unknown;
  try {
    targets = ((parse(await readFile(path, 'utf8')) as { application?: { targets?: unknown } }).application ?? {}).targets;
  } catch {
    return;
  }
  if (Array.isArray(targets) && targets.length > 0) {
    warn(`Note: spinel does not check components against the deployment targets (${targets.map((t) => (typeof t === 'string' ? t : JSON.stringify(t))).join(', ')}); pass --skip-target-checks to silence this note.`);
  }
}

function runShell(command: string, cwd: string, stdout: 'inherit' | 'stderr', signal: AbortSignal | undefined): Promise<{ code: number; signal: NodeJS.Signals | null; aborted: boolean }> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted === true) {
      resolvePromise({ code: 1, signal: null, aborted: true });
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(command, { cwd, shell: true, stdio: stdout === 'stderr' ? ['inherit', process.stderr, 'inherit'] : 'inherit', detached: signal !== undefined });
    } catch (err) {
      reject(new CliError('CLI_BUILD_FAILED', `Could not start the build command \`${command}\` in ${cwd}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    let aborted = false;
    const stop = (): void => {
      aborted = true;
      // The command's whole process group: `npm run build` starts node, which starts more.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
      }
    };
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (err) => {
      signal?.removeEventListener('abort', stop);
      reject(new CliError('CLI_BUILD_FAILED', `Could not start the build command \`${command}\` in ${cwd}: ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', stop);
      resolvePromise({ code: code ?? 1, signal: sig, aborted });
    });
  });
}
