/** OCI and Docker media types this client knows. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayout: 'application/vnd.oci.layout.header.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** Media types of manifests that point at layers. */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
/** Media types of manifests that point at other manifests. */
export const INDEX_MANIFEST_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
/** Every manifest media type, in the order sent in `Accept`. */
export const ALL_MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_MANIFEST_TYPES];

/** Largest manifest accepted by default (4 MiB, the distribution spec's recommended limit). */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
