import { spawn, type ChildProcess } from 'node:child_process';
import { relative } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { renderError } from '../render-error.js';
import { classify, ignoredDirectory, isArtifact, readWatchPlan, type WatchPlan } from './watch-plan.js';

/** Options of {@link AppWatcher}. */
export interface AppWatcherOptions {
  manifestPath: string;
  profile?: string | undefined;
  skipBuild: boolean;
  clear: boolean;
  debounceMs: number;
  /** Arguments for `spinel up` (after `-f <manifest>`). */
  upArgs: readonly string[];
  /** The `spinel` entry script, run by this Node to start `spinel up`. */
  bin: string;
  /** One line for the user. */
  out: (line: string) => void;
}

const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H';

/**
 * `spinel watch`, as Spin's: builds the app, serves it with `spinel up` (a child process),
 * rebuilds the components whose `[component.x.build] watch` globs match a changed file (then
 * restarts serving), restarts serving when a component source or a mounted file changes, and
 * re-reads the manifest when it changes (then rebuilds everything and restarts). Changes are
 * debounced; a build under way is stopped when more source changes arrive, and started again.
 * Serving starts only after a build succeeds once.
 */
export class AppWatcher {
  private readonly options: AppWatcherOptions;
  private plan: WatchPlan | undefined;
  private watcher: FSWatcher | undefined;
  private up: { child: ChildProcess; exited: Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingBuild = new Set<string>();
  private pendingAll = false;
  private pendingRestart = false;
  private pendingReload = false;
  private reasons = new Set<string>();
  private busy = false;
  private build: AbortController | undefined;
  private everBuilt: boolean;
  private stopping = false;

  constructor(options: AppWatcherOptions) {
    this.options = options;
    this.everBuilt = options.skipBuild;
  }

  /** Builds, serves and starts watching. @throws manifest errors when the manifest cannot be read at the start */
  async start(): Promise<void> {
    this.plan = await this.readPlan();
    await this.watch(this.plan);
    this.pendingAll = !this.options.skipBuild;
    this.pendingRestart = true;
    await this.process();
    this.options.out('Watching for changes (Ctrl-C to stop)');
  }

  /** Stops watching, any build, and serving (letting `spinel up` drain). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.build?.abort();
    await this.watcher?.close();
    await this.stopUp();
  }

  private async readPlan(): Promise<WatchPlan> {
    const plan = await readWatchPlan(this.options.manifestPath, { profile: this.options.profile, skipAssets: this.options.upArgs.includes('--direct-mounts') });
    for (const id of plan.unwatched) {
      this.options.out(`You haven't configured what to watch for the component: '${id}'. Add \`watch = ["src/**/*"]\` (globs) under [component.${id}.build] to rebuild it on changes.`);
    }
    return plan;
  }

  private async watch(plan: WatchPlan): Promise<void> {
    await this.watcher?.close();
    const { watch } = await import('chokidar');
    const watcher = watch([...plan.roots], {
      ignoreInitial: true,
      ignored: (path: string) => ignoredDirectory(plan, path),
    });
    watcher.on('all', (event, path) => {
      if (event === 'addDir' || event === 'unlinkDir') return;
      this.onChange(path);
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.watcher = watcher;
  }

  private onChange(path: string): void {
    const plan = this.plan;
    if (plan === undefined || this.stopping) return;
    const change = classify(plan, path);
    if (change.kind === 'none') return;
    const rel = relative(plan.appDir, path);
    if (change.kind === 'manifest') {
      this.pendingReload = true;
      this.pendingAll = !this.options.skipBuild;
      this.pendingRestart = true;
      this.reasons.add(`${rel} changed`);
    } else if (change.kind === 'build' && !this.options.skipBuild) {
      for (const c of change.components) this.pendingBuild.add(c);
      this.reasons.add(`${rel} changed`);
      // Newer sources make the build under way pointless (Spin stops it too).
      this.build?.abort();
    } else if (change.kind === 'artifact' || (change.kind === 'build' && isArtifact(plan, path))) {
      // With --skip-build a source edit does nothing (Spin's `watch --skip-build` serves built
      // artifacts only); a file both watched for builds and served still restarts serving.
      this.pendingRestart = true;
      this.reasons.add(`${rel} changed`);
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.process(), this.options.debounceMs);
  }

  private async process(): Promise<void> {
    if (this.busy || this.stopping) return;
    this.busy = true;
    try {
      while (!this.stopping && (this.pendingReload || this.pendingAll || this.pendingBuild.size > 0 || this.pendingRestart)) {
        const reason = [...this.reasons].join(', ');
        this.reasons.clear();
        if (this.pendingReload) {
          this.pendingReload = false;
          await this.reloadPlan();
        }
        if (this.pendingAll || this.pendingBuild.size > 0) {
          const components = this.pendingAll ? undefined : [...this.pendingBuild];
          this.pendingAll = false;
          this.pendingBuild.clear();
          if (this.options.clear) process.stdout.write(CLEAR_SCREEN);
          if (reason !== '') this.options.out(`${reason}: building ${components === undefined ? 'the app' : components.join(', ')}`);
          const ok = await this.runBuild(components);
          if (this.stopping) return;
          if (!ok) {
            if (this.pendingAll || this.pendingBuild.size > 0) continue;
            this.options.out(this.everBuilt ? 'Build failed; still serving the last build. Waiting for changes.' : 'Build failed; waiting for changes.');
            this.pendingRestart = false;
            break;
          }
          this.everBuilt = true;
          this.pendingRestart = true;
          // Changes to artifacts made by the build itself are part of this restart.
          if (this.pendingAll || this.pendingBuild.size > 0) continue;
        }
        if (this.pendingRestart) {
          this.pendingRestart = false;
          if (!this.everBuilt) break;
          if (this.options.clear && reason !== '' && this.up !== undefined) process.stdout.write(CLEAR_SCREEN);
          if (this.up !== undefined) this.options.out(`${reason === '' ? 'Changes' : reason}: restarting spinel up`);
          await this.restartUp();
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async reloadPlan(): Promise<void> {
    try {
      const plan = await this.readPlan();
      this.plan = plan;
      await this.watch(plan);
    } catch (err) {
      this.options.out(renderError(err).text.trimEnd());
      this.options.out('The manifest has errors; watching with the previous one.');
    }
  }

  private async runBuild(components: string[] | undefined): Promise<boolean> {
    const { runBuild } = await import('../build/run-build.js');
    const controller = new AbortController();
    this.build = controller;
    try {
      await runBuild({
        manifestPath: this.options.manifestPath,
        profile: this.options.profile,
        componentIds: components,
        out: this.options.out,
        warn: this.options.out,
        commandStdout: 'inherit',
        signal: controller.signal,
      });
      return true;
    } catch (err) {
      if (!controller.signal.aborted) this.options.out(renderError(err).text.trimEnd());
      return false;
    } finally {
      this.build = undefined;
    }
  }

  private async restartUp(): Promise<void> {
    await this.stopUp();
    if (this.stopping) return;
    // The profile built is the profile served (its component sources and environment).
    const profile = this.options.profile === undefined ? [] : ['--profile', this.options.profile];
    const args = [this.options.bin, 'up', '-f', this.options.manifestPath, ...profile, ...this.options.upArgs];
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    const exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        if (this.up?.child === child) {
          this.up = undefined;
          if (!this.stopping) this.options.out(`spinel up exited (${signal ?? `status ${code ?? 0}`}); it starts again on the next change.`);
        }
        resolve();
      });
    });
    this.up = { child, exited };
  }

  private async stopUp(): Promise<void> {
    const up = this.up;
    if (up === undefined) return;
    this.up = undefined;
    // Ctrl-C reaches it too (same process group); SIGINT lets it drain, as Ctrl-C would.
    up.child.kill('SIGINT');
    const killer = setTimeout(() => up.child.kill('SIGKILL'), 10_000);
    await up.exited;
    clearTimeout(killer);
  }
}
