import { openImageLayout } from './image-layout.js';
import { DOCKER_HUB_REGISTRY, formatReference } from './reference.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from './registry-client.js';
import type { SpinCacheLocation } from './spin-app/app-blob-store.js';
import type { OciTarget } from './target.js';
import { parseTargetReference } from './target-reference.js';

/** What a reference names, opened. */
export interface OpenedTarget {
  kind: 'registry' | 'layout';
  target: OciTarget;
  /** Tag or digest to fetch. */
  reference: string;
  /** Tag to push under; absent for a digest-only reference (the manifest is stored by digest). */
  tag?: string;
  /** Normalised reference text (`localhost:5000/org/app:v1`, `oci-layout:/abs/dir:tag`). */
  display: string;
  /** Where Spin keeps this reference's `manifest.json` and `config.json` in its cache (registries only). */
  spinCacheLocation?: SpinCacheLocation;
  /** Releases the client when this call created it. */
  close(): Promise<void>;
}

/** Options of {@link openTarget}. */
export interface OpenTargetOptions {
  /** Base for relative layout paths (the CLI passes the process's working directory). */
  cwd: string;
  /** Client to use; otherwise one is created from `clientOptions` and closed by `close()`. */
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
  /** Create a layout directory that does not exist yet (pushing). @default false */
  create?: boolean;
}

/**
 * Opens what a reference names: an OCI image layout directory (`oci-layout:<dir>[:tag]`,
 * `oci:<dir>[:tag]`, or a path starting with `/`, `./` or `../`) or a registry repository
 * (`ghcr.io/org/app:1.0`, with Docker's normalisation).
 *
 * @throws OciError `OCI_INVALID_REFERENCE`, `OCI_LAYOUT_INVALID` (a missing layout when not creating)
 */
export async function openTarget(text: string, options: OpenTargetOptions): Promise<OpenedTarget> {
  const parsed = parseTargetReference(text, { cwd: options.cwd });
  if (parsed.kind === 'layout') {
    const target = await openImageLayout(parsed.path, { create: options.create ?? false });
    const suffix = parsed.digest !== undefined ? `@${parsed.digest}` : `:${parsed.tag ?? 'latest'}`;
    return {
      kind: 'layout',
      target,
      reference: parsed.digest ?? parsed.tag ?? 'latest',
      ...(parsed.digest !== undefined && parsed.tag === undefined ? {} : { tag: parsed.tag ?? 'latest' }),
      display: `oci-layout:${parsed.path}${suffix}`,
      close: async () => undefined,
    };
  }
  const ref = parsed.reference;
  const client = options.client ?? createRegistryClient(options.clientOptions ?? {});
  const owned = options.client === undefined;
  return {
    kind: 'registry',
    target: client.repository(ref),
    reference: ref.digest ?? ref.tag ?? 'latest',
    ...(ref.tag === undefined ? {} : { tag: ref.tag }),
    display: formatReference(ref),
    spinCacheLocation: {
      // Spin names Docker Hub's directory `docker.io` (oci-client's `Reference::registry()`),
      // and a digest-only reference lands under `latest` (`crates/oci/src/client.rs`, manifest_path).
      registry: ref.registry === DOCKER_HUB_REGISTRY ? 'docker.io' : ref.registry,
      repository: ref.repository,
      tag: ref.tag ?? 'latest',
    },
    close: async () => {
      if (owned) await client.close();
    },
  };
}
