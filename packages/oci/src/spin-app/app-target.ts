import { openImageLayout } from '../image-layout.js';
import { formatReference } from '../reference.js';
import { createRegistryClient } from '../registry-client.js';
import type { RegistryClient, RegistryClientOptions } from '../registry-client.js';
import type { OciTarget } from '../target.js';
import { parseTargetReference } from '../target-reference.js';

/** Where an app reference points, opened. */
export interface AppTarget {
  kind: 'registry' | 'layout';
  target: OciTarget;
  /** Tag or digest to fetch. */
  reference: string;
  /** Tag to push under; absent for a digest-only reference (the manifest is stored by digest). */
  tag?: string;
  /** Normalised reference text (`localhost:5000/org/app:v1`, `oci-layout:/abs/dir:tag`). */
  display: string;
  /** Spin's manifest location in the cache (registries only). */
  manifestRef?: { registry: string; repository: string; tag?: string };
  /** Releases the client when this call created it. */
  close(): Promise<void>;
}

/** Options of {@link openAppTarget}. */
export interface OpenAppTargetOptions {
  /** Client to use; otherwise one is created from `clientOptions` and closed by `close()`. */
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
  /** Base for relative layout paths. @default process.cwd() (the CLI passes it) */
  cwd?: string;
  /** Create a layout directory that does not exist yet (pushing). @default false */
  create?: boolean;
}

/**
 * Opens what an app reference names: an OCI image layout directory (`oci-layout:<dir>[:tag]`,
 * `oci:<dir>[:tag]`, or a path starting with `/`, `./` or `../`) or a registry repository
 * (`ghcr.io/org/app:1.0`, with Docker's normalisation).
 * @throws OciError `OCI_INVALID_REFERENCE`, `OCI_LAYOUT_INVALID` (a missing layout when not creating).
 */
export async function openAppTarget(text: string, options: OpenAppTargetOptions = {}): Promise<AppTarget> {
  const parsed = parseTargetReference(text, { cwd: options.cwd ?? process.cwd() });
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
    manifestRef: { registry: ref.registry, repository: ref.repository, ...(ref.tag === undefined ? {} : { tag: ref.tag }) },
    close: async () => {
      if (owned) await client.close();
    },
  };
}
