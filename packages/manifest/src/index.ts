export { ManifestError, ManifestAggregateError, LockedAppError, AllowedHostError } from './errors.js';
export type { SourceLocation, ManifestErrorOptions, ManifestDiagnostic } from './errors.js';
export {
  parseLockedApp,
  serializeLockedApp,
  lockedAppToJson,
  sortJson,
  cloneLockedApp,
  KNOWN_MUST_UNDERSTAND,
  SUPPORTED_HOST_REQUIREMENTS,
  WASM_CONTENT_TYPE,
} from './locked-app.js';
export type {
  SerializeLockedAppOptions,
  JsonValue,
  JsonObject,
  ContentRef,
  ContentPath,
  LockedApp,
  LockedAppMetadata,
  LockedComponent,
  LockedComponentMetadata,
  LockedComponentSource,
  LockedComponentDependency,
  LockedTrigger,
  LockedVariable,
  InheritConfiguration,
} from './locked-app.js';
export {
  AllowedHosts,
  parseAllowedHost,
  allowedHostMatches,
  validateAllowedOutboundHosts,
  parseOutboundUrl,
  disallowedHostHint,
  wellKnownPort,
  isServiceChainingRule,
  serviceChainingTarget,
  SERVICE_CHAINING_DOMAIN,
} from './allowed-hosts.js';
export type { AllowedHost, SchemeRule, HostRule, PortRule, OutboundTarget, OutboundUrl, AllowedHostsOptions } from './allowed-hosts.js';
export { parseTemplate, renderTemplate, isLiteralTemplate, templateVariables } from './template.js';
export type { TemplatePart } from './template.js';
export { parseManifest } from './parse-manifest.js';
export type { ParseManifestOptions } from './parse-manifest.js';
export { readManifest, findManifest, lockManifestFile, DEFAULT_MANIFEST_FILE } from './read-manifest.js';
export type { FindManifestOptions, LockManifestFileOptions } from './read-manifest.js';
export { lockApp } from './lock-app.js';
export type { LockAppOptions, SourceResolver, RegistryResolver, RegistryPackageRequest } from './lock-app.js';
export { normalizeManifest } from './normalize.js';
export type {
  AppManifest,
  AppDetails,
  Component,
  ComponentSource,
  ComponentSpec,
  ComponentDependency,
  TriggerDependency,
  BuildConfig,
  FilesMount,
  InheritConfig,
  ProfileOverride,
  Trigger,
  Variable,
  ManifestWarning,
  ParsedManifest,
  ModelKeyPaths,
} from './manifest-model.js';
export { kebabIdProblem, snakeIdProblem, lowerSnakeIdProblem } from './ids.js';
export { convertAllowedHttpHosts } from './allowed-http-hosts.js';
export { manifestToV2Toml } from './upgrade-v1.js';
export { locateKeyPath, caretExcerpt } from './toml-location.js';
export type { KeyPath, TextPosition } from './toml-location.js';
