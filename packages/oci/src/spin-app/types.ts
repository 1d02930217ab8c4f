/**
 * The locked-app JSON shape as far as packaging needs it (spin-reference §2). Fields this
 * module does not touch are carried through unchanged.
 */
export interface ContentRefJson {
  source?: string;
  inline?: string;
  digest?: string;
}

export interface ContentPathJson extends ContentRefJson {
  path: string;
}

export interface LockedSourceJson extends ContentRefJson {
  content_type: string;
}

export interface LockedDependencyJson {
  source: LockedSourceJson;
  export: string | null;
  [key: string]: unknown;
}

export interface LockedComponentJson {
  id: string;
  source: LockedSourceJson;
  files?: ContentPathJson[];
  dependencies?: Record<string, LockedDependencyJson>;
  [key: string]: unknown;
}

export interface LockedAppJson {
  spin_lock_version: number;
  metadata?: Record<string, unknown>;
  triggers: unknown[];
  components: LockedComponentJson[];
  [key: string]: unknown;
}

/** An OCI content descriptor. */
export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** An OCI image manifest (schema 2). */
export interface OciImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: OciDescriptor;
  layers: OciDescriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}
