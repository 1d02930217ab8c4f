import type { TransferListItem } from 'node:worker_threads';
import { AllowedHosts, type LockedApp } from '@spinel/manifest';
import { parseKvRuntimeConfig, type KvStoreDefinition } from '@spinel/kv-wit';
import { blockNetworksFromRuntimeConfig, type BlockedNetworks } from './block-networks.js';
import { OutboundConfigError } from '../errors.js';
import type { BridgeEndpoint } from '../channel/bridge-protocol.js';
import { createBridgeServer, type BridgeServer } from '../channel/bridge-server.js';
import { KV_BRIDGE_METHOD, kvBridgeHandler, prepareKeyValue, type KeyValueSetupOptions, type KvWorkerConfig, type PreparedKeyValue } from './key-value.js';
import { createOutboundHttp, type ChainDispatch, type LookupFunction, type OutboundHttp } from './outbound-http.js';
import { OUTBOUND_HTTP_METHOD, outboundBridgeHandler } from './outbound-service.js';
import { resolveComponentConfig, resolveVariables, type ResolvedVariables, type VariableSources } from './variables.js';

/** Everything a worker needs to give instances their capabilities (post it with its transfer list). */
export interface WorkerCapabilitiesInit {
  endpoint: BridgeEndpoint;
  kv: KvWorkerConfig;
  /** Per component: its resolved variables (`config`) and the store labels it may open. */
  components: Array<[componentId: string, { config: Record<string, string>; kvLabels: string[] }]>;
}

/** Options of {@link createAppCapabilities}. */
export interface AppCapabilitiesOptions {
  app: LockedApp;
  /** Variable providers (`--variable`, environment, `.env`). */
  variables?: VariableSources;
  /** Key-value setup (state dir, runtime-config stores, `--key-value` seeds). */
  keyValue?: Omit<KeyValueSetupOptions, 'app'>;
  /**
   * The parsed `--runtime-config-file` document and the file's directory: its
   * `[key_value_store.*]`, `[outbound_networking] block_networks` and
   * `[outbound_http] connection_pooling` are applied (explicit options below win).
   */
  runtimeConfig?: { document: unknown; baseDir: string };
  /** Runtime config `[outbound_networking] block_networks`. */
  blockNetworks?: BlockedNetworks;
  /** Name resolution for outbound requests. @default dns.lookup */
  lookup?: LookupFunction;
  /** `[outbound_http] connection_pooling`. @default true */
  connectionPooling?: boolean;
}

/** An app's capabilities, resolved at start; serves the workers' bridged calls. */
export interface AppCapabilities {
  readonly variables: ResolvedVariables;
  /** Each component's resolved allow-list. */
  readonly allowedHosts: ReadonlyMap<string, AllowedHosts>;
  readonly keyValue: PreparedKeyValue;
  readonly outbound: OutboundHttp;
  readonly bridge: BridgeServer;
  /** A new worker's init data; `transfer` must be passed to postMessage with it. */
  workerInit(): { init: WorkerCapabilitiesInit; transfer: TransferListItem[] };
  /** The listener's origin (`http://127.0.0.1:3000`) once bound: the only target of self requests. */
  setSelfOrigin(origin: string): void;
  /** How `http://<id>.spin.internal` requests reach a component (the executor's `handle`, with Spin's headers). */
  setChainDispatch(dispatch: ChainDispatch): void;
  /** Stops bridged calls, closes pooled connections and stores. */
  close(): Promise<void>;
}

/**
 * Resolves an app's variables, allow-lists and key-value stores, failing the start as Spin
 * does (required variable without a value, unknown store label, invalid template), and
 * starts the serving side of the blocking bridge for outbound HTTP and Redis.
 * @throws VariableError, KeyValueConfigError, AllowedHostError (from @spinel/manifest)
 */
export async function createAppCapabilities(options: AppCapabilitiesOptions): Promise<AppCapabilities> {
  const { app } = options;
  const variables = await resolveVariables(app, options.variables);
  const values = Object.fromEntries(variables.values);
  const componentIds = app.components.map((c) => c.id);
  const allowedHosts = new Map<string, AllowedHosts>();
  const configs = new Map<string, Record<string, string>>();
  for (const component of app.components) {
    configs.set(component.id, resolveComponentConfig(component, variables));
    allowedHosts.set(component.id, AllowedHosts.parse(component.metadata?.allowed_outbound_hosts ?? [], { variables: values, componentIds }));
  }
  const fromConfig = readRuntimeConfig(options.runtimeConfig);
  const keyValue = await prepareKeyValue({
    app,
    ...(fromConfig.definitions === undefined ? {} : { definitions: fromConfig.definitions }),
    ...options.keyValue,
  });
  const blockNetworks = options.blockNetworks ?? fromConfig.blockNetworks;
  const connectionPooling = options.connectionPooling ?? fromConfig.connectionPooling;
  let selfOrigin: string | undefined;
  let dispatch: ChainDispatch | undefined;
  const outbound = createOutboundHttp({
    allowedHosts,
    selfOrigin: () => selfOrigin,
    dispatch: (id, request, signal) => {
      if (dispatch === undefined) throw new Error('service chaining is not connected to the executor');
      return dispatch(id, request, signal);
    },
    ...(blockNetworks === undefined ? {} : { blockNetworks }),
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
    ...(connectionPooling === undefined ? {} : { connectionPooling }),
  });
  const bridge = createBridgeServer({
    [OUTBOUND_HTTP_METHOD]: outboundBridgeHandler(outbound),
    [KV_BRIDGE_METHOD]: kvBridgeHandler(keyValue.manager),
  });
  const components: WorkerCapabilitiesInit['components'] = app.components.map((c) => [
    c.id,
    { config: configs.get(c.id) ?? {}, kvLabels: [...(keyValue.componentLabels.get(c.id) ?? [])] },
  ]);
  return {
    variables,
    allowedHosts,
    keyValue,
    outbound,
    bridge,
    workerInit() {
      const endpoint = bridge.connect();
      return { init: { endpoint, kv: keyValue.workerConfig, components }, transfer: [endpoint.port] };
    },
    setSelfOrigin(origin) {
      selfOrigin = origin;
    },
    setChainDispatch(fn) {
      dispatch = fn;
    },
    async close() {
      bridge.close();
      await outbound.close();
      await keyValue.close();
    },
  };
}

interface RuntimeConfigParts {
  definitions: Map<string, KvStoreDefinition> | undefined;
  blockNetworks: BlockedNetworks | undefined;
  connectionPooling: boolean | undefined;
}

function readRuntimeConfig(config: AppCapabilitiesOptions['runtimeConfig']): RuntimeConfigParts {
  if (config === undefined) return { definitions: undefined, blockNetworks: undefined, connectionPooling: undefined };
  const doc = config.document;
  const outboundHttp = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['outbound_http'] : undefined;
  let connectionPooling: boolean | undefined;
  if (outboundHttp !== undefined) {
    const pooling = typeof outboundHttp === 'object' && outboundHttp !== null ? (outboundHttp as Record<string, unknown>)['connection_pooling'] : undefined;
    if (pooling !== undefined && typeof pooling !== 'boolean') throw new OutboundConfigError('[outbound_http] connection_pooling must be true or false.');
    connectionPooling = pooling;
  }
  return {
    definitions: parseKvRuntimeConfig(doc, { baseDir: config.baseDir }),
    blockNetworks: blockNetworksFromRuntimeConfig(doc),
    connectionPooling,
  };
}
