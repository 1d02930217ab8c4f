import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { cacheDirFlag, SpinelCommand } from '../../base-command.js';
import type { LockedApp, LockedComponent } from '@spinel/manifest';
import { maxFileSizeFlag, maxSourceSizeFlag, sizeLimits } from '../../size-limit-flags.js';
import { sourceResolvers } from '../../source-resolvers.js';
import { insecureFlag, openTargetFromFlags, quietFlag } from './app-flags.js';
import { createProgressDisplay } from './progress-display.js';

/** What `registry push --json` prints. */
export interface PushJson {
  reference: string;
  digest: string;
  manifestSize: number;
  totalSize: number;
  uploadedSize: number;
  blobs: { digest: string; mediaType: string; size: number; outcome: string }[];
}

export class RegistryPush extends SpinelCommand {
  static override summary = 'Push a Spin app to a registry or an OCI layout directory.';
  static override description =
    'Locks the app, packages it as Spin does (a wasm layer per component, a data layer per file or archive layers for large apps, small files inlined) and pushes only the blobs the registry lacks. Prints the manifest digest.';
  static override aliases = ['oci:push'];
  static override examples = [
    '<%= config.bin %> registry push ghcr.io/me/app:1.0',
    '<%= config.bin %> registry push -f ./app --annotation org.opencontainers.image.source=https://github.com/me/app localhost:5000/app:dev',
    '<%= config.bin %> registry push oci-layout:./out:v1',
  ];

  static override args = {
    reference: Args.string({ required: true, description: 'Where to push: registry/repository[:tag], or oci-layout:<dir>[:tag].' }),
  };

  static override flags = {
    from: Flags.string({
      char: 'f',
      aliases: ['file'],
      description: 'The app: a spin.toml, a directory containing one, or a locked app (spin.lock). Default: spin.toml here or in a parent.',
    }),
    build: Flags.boolean({ description: 'Run the components\' build commands first.', default: false, env: 'SPIN_ALWAYS_BUILD' }),
    annotation: Flags.string({ description: 'Manifest annotation key=value (repeatable; later wins over earlier and over inferred ones).', multiple: true, multipleNonGreedy: true }),
    insecure: insecureFlag,
    'cache-dir': cacheDirFlag,
    concurrency: Flags.integer({ description: 'Blobs uploaded at once.', default: 16, min: 1, max: 64 }),
    'archive-layers': Flags.boolean({ description: 'Pack each component\'s files into one archive layer (also when SPIN_OCI_ARCHIVE_LAYERS is set, to any value, as in Spin).', default: false, hidden: true }),
    quiet: quietFlag,
    compose: Flags.string({
      description:
        'Compose each component with its dependencies and its HTTP middleware chain before pushing (true, the default, as in Spin: the pushed component is the composition, and hosts that cannot compose can run it); false pushes one layer per dependency and per middleware.',
      options: ['true', 'false'],
      default: 'true',
    }),
    'max-source-size': maxSourceSizeFlag,
    'max-file-size': maxFileSizeFlag,
  };

  async run(): Promise<PushJson> {
    const { args, flags } = await this.parse(RegistryPush);
    const oci = await import('@spinel/oci');
    const annotations = oci.parseAnnotations(flags.annotation ?? []);
    const cwd = process.cwd();
    const workDir = await mkdtemp(join(tmpdir(), 'spinel-push-'));
    const opened = await openTargetFromFlags(args.reference, flags.insecure, 'push', flags.concurrency);
    try {
      const limits = await sizeLimits(flags);
      const lockedApp = await loadApp(flags.from, cwd, workDir, flags.build, flags['cache-dir'], flags.insecure, limits);
      const progress = this.jsonEnabled() || flags.quiet ? undefined : createProgressDisplay({ verb: 'push', stream: process.stderr });
      const epoch = process.env['SOURCE_DATE_EPOCH'];
      const result = await oci.pushApp(lockedApp, {
        target: opened.target,
        ...(opened.tag === undefined ? {} : { tag: opened.tag }),
        annotations,
        concurrency: flags.concurrency,
        // Spin switches archive layers on when the variable is set at all (`std::env::var(..).is_ok()`).
        archiveLayers: flags['archive-layers'] || process.env['SPIN_OCI_ARCHIVE_LAYERS'] !== undefined,
        ...(epoch === undefined || epoch === '' ? {} : { sourceDateEpoch: epoch }),
        ...(progress === undefined ? {} : { onProgress: progress.onProgress }),
        ...(flags.compose === 'false' ? {} : { composeDependencies: await composer() }),
        ...limits,
      });
      progress?.finish();
      if (flags.quiet) this.log(result.digest);
      else this.log(`Pushed with digest ${result.digest}`);
      return {
        reference: opened.display,
        digest: result.digest,
        manifestSize: result.manifestSize,
        totalSize: result.totalSize,
        uploadedSize: result.uploadedSize,
        blobs: result.blobs.map((blob) => ({ digest: blob.descriptor.digest, mediaType: blob.descriptor.mediaType, size: blob.descriptor.size, outcome: blob.outcome })),
      };
    } finally {
      await opened.close();
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/**
 * The app to push, as a locked app: a spin.lock as is; a spin.toml locked with its files
 * copied into `workDir` (as Spin does before pushing) and URL sources fetched into the cache.
 */
async function loadApp(
  from: string | undefined,
  cwd: string,
  workDir: string,
  build: boolean,
  cacheDir: string | undefined,
  insecure: boolean,
  limits: { maxSourceBytes?: number; maxFileBytes?: number },
): Promise<LockedApp> {
  const manifest = await import('@spinel/manifest');
  if (from !== undefined && /\.(lock|json)$/.test(from)) {
    return manifest.parseLockedApp(await readFile(resolve(cwd, from), 'utf8'));
  }
  const path = await manifest.findManifest({ cwd, ...(from === undefined ? {} : { fileOrDir: from }) });
  if (build) await runBuild(path);
  return manifest.lockManifestFile(path, { workingDir: workDir, ...sourceResolvers(cacheDir, insecure), ...limits });
}

/** The runtime's composition of a locked component with its dependencies and middleware (Spin's `--compose`). */
async function composer(): Promise<(component: LockedComponent) => Promise<Uint8Array>> {
  const { composeLockedComponent } = await import('@spinel/runtime');
  return composeLockedComponent;
}

/** Runs each component's build commands in order, in its workdir, output on stderr. */
async function runBuild(path: string): Promise<void> {
  const { readManifest } = await import('@spinel/manifest');
  const parsed = await readManifest(path);
  const appDir = dirname(path);
  for (const [id, component] of Object.entries(parsed.manifest.components)) {
    const commands = component.build?.commands ?? [];
    const dir = component.build?.workdir === undefined ? appDir : resolve(appDir, component.build.workdir);
    if (commands.length > 0 && (await stat(dir).catch(() => undefined))?.isDirectory() !== true) {
      throw Object.assign(new Error(`Build directory ${dir} of component '${id}' does not exist; fix build.workdir in spin.toml.`), { code: 'CLI_BUILD_FAILED' });
    }
    for (const command of commands) {
      process.stderr.write(`Building component ${id} with \`${command}\`\n`);
      const code = await new Promise<number | null>((done, fail) => {
        const child = spawn(command, { cwd: dir, shell: true, stdio: ['ignore', process.stderr, process.stderr] });
        child.once('error', fail);
        child.once('exit', done);
      });
      if (code !== 0) {
        throw Object.assign(new Error(`Build command for component ${id} failed with status ${String(code)}; fix the build and push again.`), { code: 'CLI_BUILD_FAILED' });
      }
    }
  }
}
