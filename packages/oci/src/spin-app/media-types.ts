/** Media types of a Spin app as an OCI artifact (spin-reference §3.1). */
export const SPIN_MEDIA_TYPES = {
  /** The locked app: a layer since Spin 2.0, the config blob before. */
  lockedApp: 'application/vnd.fermyon.spin.application.v1+config',
  wasmLayer: 'application/vnd.wasm.content.layer.v1+wasm',
  dataLayer: 'application/vnd.wasm.content.layer.v1+data',
  archiveLayer: 'application/vnd.wasm.content.bundle.v1.tar+gzip',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  /** CNCF Wasm artifacts (`wkg oci push`). */
  wasm: 'application/wasm',
  wasmConfig: 'application/vnd.wasm.config.v0+json',
} as const;

/** Label in the image config that makes each app's config (and image id) unique. */
export const LOCKED_APP_DIGEST_LABEL = 'com.fermyon.spin.lockedAppDigest';

/** Metadata origin prefix of apps loaded from a registry. */
export const OCI_ORIGIN_PREFIX = 'vnd.fermyon.origin-oci:';
