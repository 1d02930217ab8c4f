import { AllowedHosts, type LockedApp } from '@spinel/manifest';
import type { Capability, CapabilityContext, CapabilityService } from '../capability.js';
import type { BridgeHandler } from '../channel/bridge-server.js';
import { CapabilityError } from '../errors.js';
import type { GuestCapabilitiesInit } from '../guest/guest-host.js';
import type { InterfaceSpec } from '../prepare/interface-set.js';
import { parseBlockNetworks, type BlockedNetworks } from './block-networks.js';
import { LimitedSemaphore } from './connection-limit.js';
import type { KeyValueSetupOptions, PreparedKeyValue } from './key-value.js';
import { keyValueCapability } from './key-value-capability.js';
import type { ChainDispatch, LookupFunction, OutboundHttp } from './outbound-http.js';
import { outboundHttpCapability } from './outbound-http-capability.js';
import { outboundServicesCapability } from './outbound-services-capability.js';
import type { RuntimeConfig } from './runtime-config/read-runtime-config.js';
import { sqliteCapability, type SqliteCapabilityOptions } from './sqlite-capability.js';
import type { PreparedSqlite } from './sqlite.js';
import { createVariablesProviders } from './variables-providers.js';
import { resolveVariables, type ResolvedVariables, type VariableSources } from './variables.js';
import { variablesCapability } from './variables-capability.js';

/** Options of {@link createAppCapabilities}. */
export interface AppCapabilitiesOptions {
  app: LockedApp;
  /** Variable providers (`--variable`, environment, `.env`). */
  variables?: VariableSources;
  /** Key-value setup (state dir, runtime-config stores, `--key-value` seeds). */
  keyValue?: Omit<KeyValueSetupOptions, 'app'>;
  /**
   * The `--runtime-config-file`, read and checked (`readRuntimeConfig`): each capability applies
   * its sections (explicit options below win).
   */
  runtimeConfig?: RuntimeConfig;
  /** Runtime config `[outbound_networking] block_networks`. */
  blockNetworks?: BlockedNetworks;
  /** Name resolution for outbound requests. @default dns.lookup */
  lookup?: LookupFunction;
  /** `[outbound_http] connection_pooling`. @default true */
  connectionPooling?: boolean;
  /** The app's state directory (`default` key-value store, capabilities' files). @default `keyValue.stateDir` */
  stateDir?: string | undefined;
  /** SQLite options (`--sqlite` statements, where `@file.sql` paths are read from). */
  sqlite?: SqliteCapabilityOptions;
  /** Capabilities served besides the built-in outbound HTTP, key-value, SQLite and variables (see the README, "Adding a host interface"). */
  capabilities?: readonly Capability[];
}

/** An app's capabilities, resolved at start; serves the workers' bridged calls. */
export interface AppCapabilities {
  readonly variables: ResolvedVariables;
  /** Each component's resolved allow-list. */
  readonly allowedHosts: ReadonlyMap<string, AllowedHosts>;
  readonly keyValue: PreparedKeyValue;
  /** The app's SQLite databases (labels, files, Spin's start-up note). */
  readonly sqlite: PreparedSqlite;
  readonly outbound: OutboundHttp;
  /** The channel methods the capabilities serve (the executor serves them on each worker's channel). */
  readonly handlers: Readonly<Record<string, BridgeHandler>>;
  /** Those of `handlers` whose calls never wait on a request of this app (`CapabilityService.independentMethods`). */
  readonly independentMethods: readonly string[];
  /** Every interface the capabilities serve (an executor accepts these besides WASI's). */
  readonly interfaces: readonly InterfaceSpec[];
  /** Each capability's service, by capability name. */
  readonly services: ReadonlyMap<string, CapabilityService>;
  /**
   * The capabilities' worker halves, for a new worker. Given the interfaces the executor's
   * components import (unversioned, as `interfaceKey` gives them), only the capabilities serving one of them:
   * a worker loads no capability (and none of its libraries) that no component of it uses.
   */
  workerInit(imported?: ReadonlySet<string>): GuestCapabilitiesInit;
  /** The listener's origin (`http://127.0.0.1:3000`) once bound: the only target of self requests. */
  setSelfOrigin(origin: string): void;
  /** How `http://<id>.spin.internal` requests reach a component (the executor's `handle`, with Spin's headers). */
  setChainDispatch(dispatch: ChainDispatch): void;
  /** Closes pooled connections and stores (close the executor first: its workers call these). */
  close(): Promise<void>;
}

/**
 * Resolves an app's variables and allow-lists and sets up its capabilities (key-value stores,
 * outbound HTTP, variables, then any given in `capabilities`), failing the start as Spin does
 * (required variable without a value, unknown store label, invalid template); then gathers the
 * handlers the executor serves on each worker's blocking channel. On failure, what was set up is closed.
 * @throws VariableError, KeyValueConfigError, OutboundConfigError, AllowedHostError (from @spinel/manifest), CapabilityError `RUNTIME_CAPABILITY_CONFLICT`, or what a capability's set-up throws
 */
export async function createAppCapabilities(options: AppCapabilitiesOptions): Promise<AppCapabilities> {
  const { app } = options;
  const providerConfigs = options.runtimeConfig?.variablesProvider ?? [];
  const providers = providerConfigs.length === 0 ? [] : createVariablesProviders(providerConfigs, { env: options.variables?.env ?? {} });
  const variables = await resolveVariables(app, { ...options.variables, providers });
  const values = Object.fromEntries(variables.values);
  const componentIds = app.components.map((c) => c.id);
  const allowedHosts = new Map<string, AllowedHosts>();
  for (const component of app.components) {
    allowedHosts.set(component.id, AllowedHosts.parse(component.metadata?.allowed_outbound_hosts ?? [], { variables: values, componentIds }));
  }
  const networking = options.runtimeConfig?.outboundNetworking;
  const totalConnections = networking?.maxTotalConnections === undefined ? undefined : new LimitedSemaphore(networking.maxTotalConnections);
  let selfOrigin: string | undefined;
  let chain: ChainDispatch | undefined;
  const context: CapabilityContext = {
    app,
    variables,
    allowedHosts,
    blockNetworks: options.blockNetworks ?? (networking?.blockNetworks === undefined ? undefined : parseBlockNetworks(networking.blockNetworks)),
    lookup: options.lookup,
    runtimeConfig: options.runtimeConfig,
    totalConnections,
    stateDir: options.stateDir ?? options.keyValue?.stateDir,
    selfOrigin: () => selfOrigin,
    dispatch: (id, request, signal) => {
      if (chain === undefined) throw new Error('service chaining is not connected to the executor');
      return chain(id, request, signal);
    },
  };
  const variablesCap = variablesCapability();
  const keyValueCap = keyValueCapability(options.keyValue);
  const outboundCap = outboundHttpCapability(options.connectionPooling === undefined ? {} : { connectionPooling: options.connectionPooling });
  const sqliteCap = sqliteCapability(options.sqlite);
  const all: Capability[] = [variablesCap, keyValueCap, sqliteCap, outboundCap, outboundServicesCapability(), ...(options.capabilities ?? [])];
  checkConflicts(all);
  const services = new Map<string, CapabilityService>();
  const closeAll = async (): Promise<void> => {
    for (const service of [...services.values()].reverse()) await Promise.resolve(service.close()).catch(() => undefined);
  };
  try {
    for (const capability of all) services.set(capability.name, await capability.setUp(context));
  } catch (err) {
    await closeAll();
    throw err;
  }
  const keyValue = (services.get(keyValueCap.name) as Awaited<ReturnType<typeof keyValueCap.setUp>>).prepared;
  const outbound = (services.get(outboundCap.name) as Awaited<ReturnType<typeof outboundCap.setUp>>).outbound;
  const sqlite = (services.get(sqliteCap.name) as Awaited<ReturnType<typeof sqliteCap.setUp>>).prepared;
  const handlers: Record<string, BridgeHandler> = {};
  const independent: string[] = [];
  for (const [name, service] of services) {
    independent.push(...(service.independentMethods ?? []));
    for (const [method, handler] of Object.entries(service.handlers ?? {})) {
      if (Object.prototype.hasOwnProperty.call(handlers, method)) {
        await closeAll();
        throw new CapabilityError('RUNTIME_CAPABILITY_CONFLICT', `Capability "${name}" serves channel method "${method}", which another capability already serves; give it a name of its own.`);
      }
      handlers[method] = handler;
    }
  }
  const interfaces = all.flatMap((c) => c.interfaces);
  return {
    variables,
    allowedHosts,
    keyValue,
    sqlite,
    outbound,
    handlers,
    independentMethods: independent,
    interfaces,
    services,
    workerInit(imported) {
      const used = imported === undefined ? all : all.filter((c) => c.interfaces.some((i) => imported.has(i.name)));
      return used.map((c) => ({ name: c.name, module: c.guestModule, init: services.get(c.name)?.workerInit() }));
    },
    setSelfOrigin(origin) {
      selfOrigin = origin;
    },
    setChainDispatch(fn) {
      chain = fn;
    },
    async close() {
      await closeAll();
    },
  };
}

/** Two capabilities serving one interface would leave the guest's imports to chance. */
function checkConflicts(capabilities: readonly Capability[]): void {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  for (const capability of capabilities) {
    if (names.has(capability.name)) throw new CapabilityError('RUNTIME_CAPABILITY_CONFLICT', `Two capabilities are named "${capability.name}"; give each its own name.`);
    names.add(capability.name);
    for (const { name } of capability.interfaces) {
      const other = owner.get(name);
      if (other !== undefined) throw new CapabilityError('RUNTIME_CAPABILITY_CONFLICT', `Capabilities "${other}" and "${capability.name}" both serve ${name}; only one may.`);
      owner.set(name, capability.name);
    }
  }
}
