import { Flags } from '@oclif/core';
import type { AppTarget, BlobProgressEvent, RegistryClientOptions } from '@spinel/oci';
import { formatBytes } from '../../format-bytes.js';

export { formatBytes };

/** Flags shared by `registry push`, `pull` and `run`. */
export const insecureFlag = Flags.boolean({
  char: 'k',
  description: 'Use plain HTTP for the registry (Spin\'s meaning of --insecure). Loopback registries use HTTP anyway.',
  default: false,
});

/** Client options wired from the environment: credential files, --insecure. */
export async function clientOptions(insecure: boolean, concurrency?: number): Promise<RegistryClientOptions> {
  const { createCredentialResolver, defaultCredentialPaths } = await import('@spinel/oci');
  return {
    insecure,
    ...(concurrency === undefined ? {} : { concurrency }),
    credentials: createCredentialResolver({ ...defaultCredentialPaths(process.env), helperEnv: process.env }),
  };
}

/**
 * Opens what a reference names (registry or `oci-layout:`/`oci:` directory); a layout is
 * created when pushing to it.
 */
export async function openTargetFromFlags(reference: string, insecure: boolean, mode: 'push' | 'pull' = 'pull', concurrency?: number): Promise<AppTarget> {
  const oci = await import('@spinel/oci');
  return oci.openAppTarget(reference, {
    clientOptions: await clientOptions(insecure, concurrency),
    cwd: process.cwd(),
    create: mode === 'push',
  });
}

export { cacheRootFrom as cacheRoot } from '../../cache-root.js';

/**
 * Renders per-blob progress on stderr: on a terminal one status line redrawn in place plus a
 * line per finished blob; otherwise only the finished lines. Silent when `enabled` is false.
 */
export function progressRenderer(options: { enabled: boolean; verb: 'push' | 'pull'; stream?: NodeJS.WriteStream }): {
  onProgress: (event: BlobProgressEvent) => void;
  finish: () => void;
} {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const active = new Map<string, { size: number; done: number }>();
  let lastDraw = 0;
  const clear = (): void => {
    if (tty) stream.write('\r\u001b[2K');
  };
  const draw = (force = false): void => {
    if (!tty || active.size === 0) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const parts = [...active.entries()]
      .slice(0, 4)
      .map(([digest, state]) => `${digest.slice(7, 19)} ${state.size === 0 ? 100 : Math.floor((state.done / state.size) * 100)}%`);
    const more = active.size > 4 ? ` +${active.size - 4}` : '';
    clear();
    stream.write(`${options.verb === 'push' ? 'Pushing' : 'Pulling'} ${parts.join('  ')}${more}`.slice(0, (stream.columns ?? 100) - 1));
  };
  const label: Record<string, string> = {
    exists: 'exists',
    mounted: 'mounted',
    uploaded: 'pushed',
    cached: 'cached',
    downloaded: 'pulled',
  };
  return {
    onProgress(event) {
      if (!options.enabled) return;
      const { digest, size } = event.descriptor;
      if (event.phase === 'start') {
        active.set(digest, { size, done: 0 });
        draw();
      } else if (event.phase === 'progress') {
        const state = active.get(digest);
        if (state !== undefined) state.done = event.transferred;
        draw();
      } else {
        active.delete(digest);
        clear();
        stream.write(`${label[event.outcome ?? 'uploaded'] ?? event.outcome} ${digest} (${formatBytes(size)})\n`);
        draw(true);
      }
    },
    finish() {
      if (options.enabled) clear();
    },
  };
}
