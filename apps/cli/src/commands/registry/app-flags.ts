import { Flags } from '@oclif/core';
import type { OpenedTarget, RegistryClientOptions } from '@spinel/oci';
import { formatBytes } from '../../format-bytes.js';

export { formatBytes };

/** `--quiet`: print only the digest, no progress. */
export const quietFlag = Flags.boolean({ char: 'q', description: 'Print only the manifest digest (no progress).', default: false });

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
export async function openTargetFromFlags(reference: string, insecure: boolean, mode: 'push' | 'pull' = 'pull', concurrency?: number): Promise<OpenedTarget> {
  const oci = await import('@spinel/oci');
  return oci.openTarget(reference, {
    clientOptions: await clientOptions(insecure, concurrency),
    cwd: process.cwd(),
    create: mode === 'push',
  });
}

export { cacheRootFrom as cacheRoot } from '../../cache-root.js';
