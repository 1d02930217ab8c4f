/**
 * Where the runner's app comes from (`--from`): a registry reference, an OCI image layout
 * directory, or a local spin.toml. One interface for the three: what the current digest is
 * (one HEAD request for a registry tag) and how to load the version with a given digest
 * (pulled by digest, so the manifest is verified against it and every blob while it streams).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import type { OciTarget, OpenedTarget } from '@spinel/oci';

/** One loaded version of the app. */
export interface LoadedApp {
  app: LockedApp;
  /** The manifest digest it was pulled by; undefined for a local spin.toml. */
  digest: string | undefined;
  /** Blobs found in the cache and blobs downloaded (0 and 0 for a local app). */
  blobs: { cached: number; downloaded: number };
}

/** An opened `--from`. */
export interface AppSource {
  readonly kind: 'registry' | 'layout' | 'manifest';
  /** The normalised reference or path, for logs (never credentials). */
  readonly display: string;
  /** Whether the reference can move (a tag); a digest reference or a local app cannot. */
  readonly followsTag: boolean;
  /** The digest the reference names now (registry: one HEAD request); undefined for a local app. */
  currentDigest(signal?: AbortSignal): Promise<string | undefined>;
  /** Loads the version with `digest` (or the local app) into `workDir`. */
  load(digest: string | undefined, workDir: string, signal?: AbortSignal): Promise<LoadedApp>;
  close(): Promise<void>;
}

/** Options of {@link openAppSource}. */
export interface OpenAppSourceOptions {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Environment for credential files (`DOCKER_CONFIG`, `XDG_CONFIG_HOME`, `HOME`) and helpers. */
  env: Readonly<Record<string, string | undefined>>;
  /** Plain HTTP to the registry. */
  insecure: boolean;
  cache: Cache;
}

/**
 * Opens `--from`: an existing `.toml` file or a directory holding `spin.toml` is a local app;
 * an existing directory holding `oci-layout`, or `oci:`/`oci-layout:` text, is an OCI layout;
 * anything else is a registry reference.
 * @throws the manifest package's `MANIFEST_NOT_FOUND`, the oci package's `OCI_INVALID_REFERENCE`, `OCI_LAYOUT_INVALID`
 */
export async function openAppSource(from: string, options: OpenAppSourceOptions): Promise<AppSource> {
  const full = resolve(options.cwd, from);
  const st = await stat(full).catch(() => undefined);
  const isLayoutDir = st?.isDirectory() === true && (await stat(join(full, 'oci-layout')).catch(() => undefined))?.isFile() === true;
  if (st !== undefined && !isLayoutDir) return openManifestSource(from, options.cwd);
  if (st === undefined && (/\.toml$/i.test(from) || from.startsWith('.') || from.startsWith('/'))) {
    // Looks like a path but nothing is there: let the manifest reader say so.
    return openManifestSource(from, options.cwd);
  }
  return openOciSource(isLayoutDir ? `oci-layout:${full}` : from, options);
}

async function openManifestSource(from: string, cwd: string): Promise<AppSource> {
  const { findManifest, lockManifestFile } = await import('@spinel/manifest');
  const path = await findManifest({ cwd, fileOrDir: from });
  return {
    kind: 'manifest',
    display: path,
    followsTag: false,
    currentDigest: async () => undefined,
    async load(_digest, workDir) {
      const app = await lockManifestFile(path, { workingDir: workDir });
      return { app, digest: undefined, blobs: { cached: 0, downloaded: 0 } };
    },
    close: async () => undefined,
  };
}

async function openOciSource(text: string, options: OpenAppSourceOptions): Promise<AppSource> {
  const oci = await import('@spinel/oci');
  const opened: OpenedTarget = await oci.openTarget(text, {
    cwd: options.cwd,
    clientOptions: {
      insecure: options.insecure,
      // The CLI's stores, Spin's, then Docker's config: $DOCKER_CONFIG/config.json is where a
      // Kubernetes image pull secret (kubernetes.io/dockerconfigjson) is mounted.
      credentials: oci.createCredentialResolver({ ...oci.defaultCredentialPaths(options.env), helperEnv: options.env }),
    },
  });
  const byDigest = oci.isValidDigest(opened.reference);
  return {
    kind: opened.kind,
    display: opened.display,
    followsTag: !byDigest,
    async currentDigest(signal) {
      if (byDigest) return opened.reference;
      return resolveDigest(opened.target, opened.reference, signal);
    },
    async load(digest, workDir, signal) {
      const pulled = await oci.pullApp({
        target: opened.target,
        // By digest: the manifest is checked against the digest the tag pointed at.
        reference: digest ?? opened.reference,
        store: options.cache,
        origin: opened.display,
        workDir,
        ...(opened.spinCacheLocation === undefined ? {} : { spinCacheLocation: opened.spinCacheLocation }),
        ...(signal === undefined ? {} : { signal }),
      });
      const cached = pulled.blobs.filter((b) => b.outcome === 'cached').length;
      const downloaded = pulled.blobs.filter((b) => b.outcome === 'downloaded').length;
      // The digest asked for (an index's, when the tag names one) is what the tag is compared with later.
      return { app: pulled.lockedApp, digest: digest ?? pulled.digest, blobs: { cached, downloaded } };
    },
    close: () => opened.close(),
  };
}

/** A tag's digest: a HEAD request on a registry, the index entry in a layout. */
async function resolveDigest(target: OciTarget, reference: string, signal: AbortSignal | undefined): Promise<string> {
  const withSignal = signal === undefined ? {} : { signal };
  const resolver = target as OciTarget & { resolve?: (ref: string, o?: { signal?: AbortSignal }) => Promise<{ digest: string }> };
  if (typeof resolver.resolve === 'function') return (await resolver.resolve(reference, withSignal)).digest;
  return (await target.fetchManifest(reference, withSignal)).descriptor.digest;
}
