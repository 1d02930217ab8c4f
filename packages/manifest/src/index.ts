export { ManifestError, ManifestAggregateError, LockedAppError, AllowedHostError } from './errors.js';
export type { SourceLocation, ManifestErrorOptions, ManifestDiagnostic } from './errors.js';
export {
  parseLockedApp,
  serializeLockedApp,
  lockedAppToJson,
  sortJson,
  KNOWN_MUST_UNDERSTAND,
  SUPPORTED_HOST_REQUIREMENTS,
  WASM_CONTENT_TYPE,
} from './locked-app.js';
export type {
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
