import { InvalidReferenceError, ArtifactUnsupportedError, PackageNotFoundError } from '../errors.js';
import { MediaType } from '../media-types.js';
import { openTarget } from '../open-target.js';
import type { RegistryClient, RegistryClientOptions } from '../registry-client.js';
import type { AppBlobStore } from '../spin-app/app-blob-store.js';
import { pullArtifact } from '../spin-app/pull-app.js';
import { compareSemVer, parseRequirement, parseSemVer, satisfies, type SemVer } from './version-requirement.js';

/** Options of {@link pullWasmPackage}. */
export interface PullWasmPackageOptions {
  /** Registry host (`ghcr.io`, `localhost:5000`). */
  registry: string;
  /** Package name, `namespace:name`: pulled from the repository `<namespace>/<name>`. */
  package: string;
  /** Version requirement (`1.2.3` means `^1.2.3`, `=1.2.3` exactly, `>=1, <2` …). */
  version: string;
  /** Where the Wasm goes (`openCache()` of `@spinel/cache`). */
  store: AppBlobStore;
  client?: RegistryClient;
  clientOptions?: RegistryClientOptions;
  signal?: AbortSignal;
}

/** What {@link pullWasmPackage} fetched. */
export interface PulledWasmPackage {
  /** The reference pulled (`registry/namespace/name:version`). */
  reference: string;
  /** The release chosen. */
  version: string;
  /** Digest of the Wasm layer. */
  digest: string;
  /** Where the store keeps it. */
  path: string;
}

const PACKAGE = /^([a-z][a-z0-9-]*):([a-z][a-z0-9-]*(?:\/[a-z][a-z0-9-]*)*)$/;

/**
 * Pulls a Wasm package published as a wasm OCI artifact (`wkg oci push`, the CNCF TAG Runtime
 * layout: one `application/wasm` layer) from `<registry>/<namespace>/<name>`, choosing the
 * highest tag that is a version satisfying `version`, as wasm-pkg-client does for Spin's
 * registry sources. The layer is verified while it streams into the store.
 *
 * @throws OciError `OCI_INVALID_REFERENCE` (a malformed package name or requirement),
 *   `OCI_PACKAGE_NOT_FOUND` (no release satisfies the requirement), `OCI_ARTIFACT_UNSUPPORTED`
 *   (not exactly one Wasm layer), and the target's codes
 */
export async function pullWasmPackage(options: PullWasmPackageOptions): Promise<PulledWasmPackage> {
  const m = PACKAGE.exec(options.package);
  if (m === null) throw new InvalidReferenceError(`Invalid package name ${JSON.stringify(options.package)}: expected namespace:name (for example spinel:greeter).`);
  const requirement = parseRequirement(options.version);
  if (requirement === undefined) throw new InvalidReferenceError(`Invalid version requirement ${JSON.stringify(options.version)} for package ${options.package}: expected a semantic version such as 1.2.3.`);
  const repository = `${options.registry}/${m[1] as string}/${m[2] as string}`;
  const opened = await openTarget(repository, {
    cwd: '/',
    ...(options.client === undefined ? {} : { client: options.client }),
    ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions }),
  });
  try {
    const tags = await opened.target.listTags(options.signal === undefined ? {} : { signal: options.signal });
    let best: { tag: string; version: SemVer } | undefined;
    for (const tag of tags) {
      const version = parseSemVer(tag);
      if (version === undefined || !satisfies(version, requirement)) continue;
      if (best === undefined || compareSemVer(version, best.version) > 0) best = { tag, version };
    }
    if (best === undefined) {
      throw new PackageNotFoundError(`No matching version found for ${options.package} ${options.version} in ${repository} (its versions: ${tags.filter((t) => parseSemVer(t) !== undefined).join(', ') || 'none'}). Publish one, or change the version.`);
    }
    const pulled = await pullArtifact({ target: opened.target, reference: best.tag, store: options.store, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const wasm = pulled.manifest.layers.filter((l) => l.mediaType === MediaType.Wasm || l.mediaType === MediaType.WasmLayer);
    const layer = wasm[0];
    if (layer === undefined || wasm.length !== 1) {
      throw new ArtifactUnsupportedError(`${repository}:${best.tag} is not a Wasm package: expected one Wasm layer (application/wasm), found ${wasm.length}.`);
    }
    const stored = await options.store.stat(layer.digest);
    if (stored === undefined) throw new ArtifactUnsupportedError(`${repository}:${best.tag}: its Wasm layer ${layer.digest} was not stored.`);
    return { reference: `${repository}:${best.tag}`, version: best.tag, digest: layer.digest, path: stored.path };
  } finally {
    await opened.close();
  }
}
