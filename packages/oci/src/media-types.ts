/** OCI, Docker and Spin media types this package knows. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayout: 'application/vnd.oci.layout.header.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** Spin's locked app: a layer since Spin 2.0, the config blob before (`crates/oci/src/client.rs`). */
  SpinLockedApp: 'application/vnd.fermyon.spin.application.v1+config',
  /** A component or dependency of a Spin app. */
  WasmLayer: 'application/vnd.wasm.content.layer.v1+wasm',
  /** A file of a Spin app. */
  DataLayer: 'application/vnd.wasm.content.layer.v1+data',
  /** A gzipped tar of a component's files (Spin's archive layers). */
  ArchiveLayer: 'application/vnd.wasm.content.bundle.v1.tar+gzip',
  /** A Wasm component as `wkg oci push` writes it (CNCF Wasm artifacts). */
  Wasm: 'application/wasm',
  /** The config of a CNCF Wasm artifact. */
  WasmConfig: 'application/vnd.wasm.config.v0+json',
} as const;

/** Media types of manifests that point at layers. */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
/** Media types of manifests that point at other manifests. */
export const INDEX_MANIFEST_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
/** Every manifest media type, in the order sent in `Accept`. */
export const ALL_MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_MANIFEST_TYPES];

/** Largest manifest accepted by default (4 MiB, the distribution spec's recommended limit). */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Image-config label holding the locked-app layer's digest, so each app's config (and image id) differs. */
export const LOCKED_APP_DIGEST_LABEL = 'com.fermyon.spin.lockedAppDigest';

/** `metadata.origin` prefix of apps loaded from a registry. */
export const OCI_ORIGIN_PREFIX = 'vnd.fermyon.origin-oci:';
