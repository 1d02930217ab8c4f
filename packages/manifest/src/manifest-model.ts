/**
 * The v2 manifest model (what `spin.toml` means after parsing; v1 files are converted
 * into it). Field names follow the TOML keys.
 */
import type { JsonObject } from './locked-app.js';

/** `source`: a local path, a URL with digest, or a registry package. */
export type ComponentSource =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string; readonly digest: string }
  | { readonly kind: 'registry'; readonly registry?: string; readonly package: string; readonly version: string };

/** A `files` entry: a path/glob pattern, or a `{ source, destination }` placement. */
export type FilesMount = { readonly kind: 'pattern'; readonly pattern: string } | { readonly kind: 'placement'; readonly source: string; readonly destination: string };

/** `[component.x.build]`. */
export interface BuildConfig {
  /** Commands in order (a single string becomes one entry). */
  readonly commands: readonly string[];
  /** Whether `command` was written as an array (kept for the locked metadata). */
  readonly commandIsArray: boolean;
  readonly workdir?: string;
  readonly watch: readonly string[];
}

/** `inherit_configuration`: all, none, or a list of keys. */
export type InheritConfig = boolean | readonly string[];

/** One component dependency (`[component.x.dependencies]`). */
export type ComponentDependency =
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'package'; readonly version: string; readonly registry?: string; readonly package?: string; readonly export?: string; readonly inherit?: InheritConfig }
  | { readonly kind: 'local'; readonly path: string; readonly export?: string; readonly inherit?: InheritConfig }
  | { readonly kind: 'url'; readonly url: string; readonly digest: string; readonly export?: string; readonly inherit?: InheritConfig }
  | { readonly kind: 'component'; readonly component: string; readonly export?: string; readonly inherit?: InheritConfig };

/** A profile override (`[component.x.profile.<name>]`). */
export interface ProfileOverride {
  readonly source?: ComponentSource;
  readonly environment: Readonly<Record<string, string>>;
  readonly dependencies: Readonly<Record<string, ComponentDependency>>;
  readonly buildCommands?: readonly string[];
  readonly buildCommandIsArray?: boolean;
}

/** `[component.<id>]`. */
export interface Component {
  source: ComponentSource;
  description: string;
  variables: Record<string, string>;
  environment: Record<string, string>;
  files: FilesMount[];
  exclude_files: string[];
  allowed_outbound_hosts: string[];
  /** Deprecated; converted into `allowed_outbound_hosts` when locking. */
  allowed_http_hosts: string[];
  key_value_stores: string[];
  sqlite_databases: string[];
  ai_models: string[];
  build?: BuildConfig;
  dependencies_inherit_configuration?: boolean;
  dependencies: Record<string, ComponentDependency>;
  profile: Record<string, ProfileOverride>;
}

/** A trigger's component: a reference by id or an inline component. */
export type ComponentSpec = { readonly kind: 'reference'; readonly id: string } | { readonly kind: 'inline'; readonly component: Component };

/** A trigger dependency (`dependencies.<role> = [...]` in a trigger). */
export type TriggerDependency = Exclude<ComponentDependency, { kind: 'version' }>;

/** `[[trigger.<type>]]`. */
export interface Trigger {
  id: string;
  component?: ComponentSpec;
  components: Record<string, ComponentSpec[]>;
  dependencies: Record<string, TriggerDependency[]>;
  /** Every other key, as JSON (trigger specific: `route`, `executor`, `channel`, ...). */
  config: JsonObject;
}

/** `[variables.<name>]`. */
export interface Variable {
  description?: string;
  required: boolean;
  default?: string;
  secret: boolean;
}

/** `[application]`. */
export interface AppDetails {
  name: string;
  version: string;
  description: string;
  authors: string[];
  /** `[application.trigger.<type>]` tables, as JSON. */
  triggerGlobalConfigs: Record<string, JsonObject>;
}

/** A whole v2 manifest (v1 converted). Records keep the file's order. */
export interface AppManifest {
  application: AppDetails;
  variables: Record<string, Variable>;
  triggers: Record<string, Trigger[]>;
  components: Record<string, Component>;
}

/** Something worth telling the user that does not stop loading. */
export interface ManifestWarning {
  readonly code: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** Result of {@link parseManifest}. */
export interface ParsedManifest {
  /** The manifest in the v2 model. */
  readonly manifest: AppManifest;
  /** Version of the file as written (1 is converted to the v2 model). */
  readonly manifestVersion: 1 | 2;
  /** The file path, when known. */
  readonly path?: string;
  readonly warnings: readonly ManifestWarning[];
  /** The TOML text, so later stages (locking) can point at lines too. */
  readonly text?: string;
  /** Where each component and trigger is written in the file (key paths). */
  readonly keyPaths: ModelKeyPaths;
}

/** Key paths (TOML keys and array indexes) of each component and trigger. */
export interface ModelKeyPaths {
  readonly components: Record<string, readonly (string | number)[]>;
  readonly triggers: Record<string, readonly (readonly (string | number)[])[]>;
}
