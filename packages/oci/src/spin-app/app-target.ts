import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { formatReference, parseReference, referenceTarget } from '../reference.js';
import { createRegistryClient } from '../registry-client.js';
import type { RegistryClient, RegistryClientOptions } from '../registry-client.js';
import type { OciTarget } from '../target.js';

/** Where an app reference points, opened. */
export interface AppTarget {
  kind: 'registry' | 'layout';
  target: OciTarget;
  /** Tag or digest to fetch. */
  reference: string;
  /** Tag to push under (registries: the reference's tag, `latest` by default). */
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
  /** Base for relative layout paths. @default process.cwd() (read by the caller, never deep inside) */
  cwd?: string;
  /**
   * Opens an OCI image layout directory as a target. Layout support lives in the protocol
   * half of this package; until it is passed in, layout references are refused.
   */
  openLayout?: (dir: string) => OciTarget | Promise<OciTarget>;
}

/** A reference that names an OCI image layout: `oci-layout:<dir>[:tag]`, `oci:<dir>[:tag]`, or an existing directory. */
export interface LayoutReference {
  dir: string;
  tag?: string;
}

/**
 * Parses `oci-layout:<dir>[:tag]` / `oci:<dir>[:tag]` (skopeo's syntax); undefined when the
 * text has neither prefix.
 */
export function parseLayoutReference(text: string, cwd: string): LayoutReference | undefined {
  const match = /^(?:oci-layout|oci):(.+)$/.exec(text);
  if (match?.[1] === undefined) return undefined;
  const rest = match[1];
  const colon = rest.lastIndexOf(':');
  // A colon is a tag separator only after the last slash (so C:\ and dir:with:colons/x stay paths).
  if (colon > rest.lastIndexOf('/') && colon > 1) {
    const tag = rest.slice(colon + 1);
    return { dir: absolute(rest.slice(0, colon), cwd), ...(tag === '' ? {} : { tag }) };
  }
  return { dir: absolute(rest, cwd) };
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * Opens what an app reference names: an OCI layout directory (`oci-layout:./dir:tag`,
 * `oci:./dir:tag`, or a path to an existing directory) or a registry repository
 * (`ghcr.io/org/app:1.0`, with Docker's normalisation).
 * @throws OciError `OCI_INVALID_REFERENCE`; `OCI_UNSUPPORTED` for a layout when no `openLayout` is given.
 */
export async function openAppTarget(text: string, options: OpenAppTargetOptions = {}): Promise<AppTarget> {
  const cwd = options.cwd ?? process.cwd();
  let layout = parseLayoutReference(text, cwd);
  if (layout === undefined && (text.startsWith('.') || text.startsWith('/'))) {
    const info = await stat(absolute(text, cwd)).catch(() => undefined);
    if (info?.isDirectory() === true) layout = { dir: absolute(text, cwd) };
  }
  if (layout !== undefined) {
    if (options.openLayout === undefined) {
      throw new UnsupportedError(`'${text}' names an OCI layout directory, which this build cannot open yet; push to a registry instead.`);
    }
    const target = await options.openLayout(layout.dir);
    const tag = layout.tag ?? 'latest';
    return {
      kind: 'layout',
      target,
      reference: tag,
      tag,
      display: `oci-layout:${layout.dir}:${tag}`,
      close: async () => undefined,
    };
  }
  const ref = parseReference(text);
  const client = options.client ?? createRegistryClient(options.clientOptions ?? {});
  const owned = options.client === undefined;
  return {
    kind: 'registry',
    target: client.repository(ref),
    reference: referenceTarget(ref),
    ...(ref.tag === undefined ? {} : { tag: ref.tag }),
    display: formatReference(ref),
    manifestRef: { registry: ref.registry, repository: ref.repository, ...(ref.tag === undefined ? {} : { tag: ref.tag }) },
    close: async () => {
      if (owned) await client.close();
    },
  };
}
