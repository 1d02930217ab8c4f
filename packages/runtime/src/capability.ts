/**
 * The seam for adding a capability (a host interface a guest reaches through the main thread, or
 * that needs per-app set-up): one {@link Capability} object names the interfaces it serves, sets
 * up its main-thread service, and names the worker-side module that builds its imports. The
 * runtime README ("Adding a host interface") walks through it.
 *
 * The two halves run on different threads and share nothing but structured-clonable data: the
 * service's `workerInit()` result is posted to each worker, where the guest module's
 * `createGuestCapability(init, context)` turns it into imports. Calls from a guest to the main
 * thread go over the worker's blocking channel to the service's `handlers`.
 */
import type { AllowedHosts, LockedApp } from '@spinel/manifest';
import type { BridgeHandler } from './channel/bridge-server.js';
import type { SyncBridge } from './channel/sync-bridge.js';
import type { InstanceContext } from './guest/host-registry.js';
import type { Blocker } from './guest/wasi/io.js';
import type { InterfaceSpec } from './prepare/interface-set.js';
import type { BlockedNetworks } from './services/block-networks.js';
import type { ChainDispatch, LookupFunction } from './services/outbound-http.js';
import type { LimitedSemaphore } from './services/connection-limit.js';
import type { RuntimeConfig } from './services/runtime-config/read-runtime-config.js';
import type { ResolvedVariables } from './services/variables.js';

export type { InterfaceSpec } from './prepare/interface-set.js';

/** A capability: what it serves, its main-thread service, and its worker-side module. */
export interface Capability {
  /** Short name, for errors and debug output (`key-value`). */
  readonly name: string;
  /**
   * The interfaces it serves and the versions of each it accepts. A component importing one of
   * them is accepted at load only by executors given this capability. A capability may replace a
   * WASI interface of the base host (outbound HTTP replaces `wasi:http/types`); two capabilities
   * may not serve the same interface.
   */
  readonly interfaces: readonly InterfaceSpec[];
  /**
   * file: URL of the worker-side module; it exports {@link CreateGuestCapability} as
   * `createGuestCapability`. Loaded only in workers of executors that have this capability and
   * run a component importing one of its {@link Capability.interfaces}.
   */
  readonly guestModule: string;
  /**
   * Main thread, once per app before serving: resolve configuration, open pools. Throw a coded
   * error to stop the start (it reaches the user as is).
   */
  setUp(context: CapabilityContext): Promise<CapabilityService> | CapabilityService;
}

/** What a capability's {@link Capability.setUp} gets from the app it serves. */
export interface CapabilityContext {
  readonly app: LockedApp;
  /** The app's variables, resolved (for `{{ variable }}` templates in a capability's settings). */
  readonly variables: ResolvedVariables;
  /** Each component's `allowed_outbound_hosts`, parsed with the variables applied. */
  readonly allowedHosts: ReadonlyMap<string, AllowedHosts>;
  /** Runtime config `[outbound_networking] block_networks` (checked against resolved addresses). */
  readonly blockNetworks: BlockedNetworks | undefined;
  /** Name resolution for outbound connections. */
  readonly lookup: LookupFunction | undefined;
  /**
   * The runtime config, read and checked (`readRuntimeConfig`), when one was given: each
   * capability reads its own sections from it (add a section to `services/runtime-config/sections.ts`).
   */
  readonly runtimeConfig: RuntimeConfig | undefined;
  /**
   * `[outbound_networking] max_total_connections`: one semaphore every outbound service takes a
   * permit of for each connection it holds open (with its own limit: `new ConnectionLimit(own, this)`).
   */
  readonly totalConnections: LimitedSemaphore | undefined;
  /** The app's state directory, when it has one. */
  readonly stateDir: string | undefined;
  /** The listener's origin once serving (`http://127.0.0.1:3000`); undefined before. */
  selfOrigin(): string | undefined;
  /** Sends a request to a component of the app (service chaining), as the trigger would. */
  readonly dispatch: ChainDispatch;
}

/** A capability's main-thread half, once set up. */
export interface CapabilityService {
  /**
   * Methods guests reach over their worker's blocking channel, by name. Prefix names with the
   * capability's (`redis.execute`); a name served twice fails the start.
   */
  readonly handlers?: Readonly<Record<string, BridgeHandler>>;
  /**
   * Those of `handlers` whose calls never wait on a request of this app (a database, a broker,
   * a store): a worker blocked on one is not waiting for a queued request, so the pool starts no
   * extra worker on its account. Calls of other methods (outbound HTTP, which may reach the app
   * itself) may wait on one and count. @default none
   */
  readonly independentMethods?: readonly string[];
  /** Plain data for each new worker (structured-clonable), handed to `createGuestCapability`. */
  workerInit(): unknown;
  /** Closes what set-up opened (pools, stores); called once when the app stops. */
  close(): Promise<void> | void;
}

/** What a capability's worker module gets besides its init data. */
export interface GuestCapabilityContext {
  /** The worker's blocking channel to the main thread: `call`/`start` reach the service's handlers. */
  readonly channel: SyncBridge;
  /** Sleeps until the channel has news or `ms` passes (for pollables over channel results). */
  readonly blocker: Blocker;
}

/** A capability's worker-side half: builds imports for each component a worker runs. */
export interface GuestCapability {
  /**
   * The import objects of one component, by interface name without version (the keys jco's glue
   * uses). Called once per component per worker; the objects are shared by every fresh instance,
   * so they hold no per-request state (keep that behind {@link GuestCapability.beginRequest}).
   * `componentImports` are the interfaces the component imports, with their versions as its
   * binary names them (`spin:postgres/postgres@3.0.0`): where jco's keys drop the version, they
   * tell which shape of an interface to build.
   */
  imports(context: InstanceContext, componentImports: readonly string[]): Record<string, Record<string, unknown>>;
  /** Before the guest handles a request: nothing of an earlier request may stay usable. */
  beginRequest?(context: InstanceContext): void;
  /** After the request: release its handles, cancel its unfinished calls. */
  endRequest?(context: InstanceContext): void;
  /** The worker is stopping. */
  close?(): void;
}

/** The export a capability's {@link Capability.guestModule} provides, named `createGuestCapability`. */
export type CreateGuestCapability = (init: unknown, context: GuestCapabilityContext) => GuestCapability;
