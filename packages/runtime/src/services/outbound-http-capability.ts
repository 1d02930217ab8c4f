/**
 * The outbound HTTP capability: `wasi:http/outgoing-handler` (replacing the base host's, which
 * refuses every request) with the `wasi:http/types` that carry real responses, and Spin 1's
 * `fermyon:spin/http`. Requests leave through undici on the main thread after the component's
 * `allowed_outbound_hosts` and the runtime config's `block_networks` allow them.
 */
import type { Capability, CapabilityService } from '../capability.js';
import { wasiVersions } from '../guest/wasi/interface-specs.js';
import { UNVERSIONED, type InterfaceSpec } from '../prepare/interface-set.js';
import { loadClientTls } from './client-tls.js';
import { ConnectionLimit } from './connection-limit.js';
import { outboundHttpConnectionLimit } from './limited-connector.js';
import { createOutboundHttp, type OutboundHttp } from './outbound-http.js';
import { OUTBOUND_LEND_METHOD, outboundBridgeHandlers } from './outbound-service.js';

/** The outbound HTTP service once set up. */
export interface OutboundHttpService extends CapabilityService {
  readonly outbound: OutboundHttp;
}

const OUTBOUND_INTERFACES: readonly InterfaceSpec[] = [
  // The release candidates too: their shapes are adapted over these in the worker (guest/wasi/rc-versions.ts).
  { name: 'wasi:http/types', versions: wasiVersions('wasi:http/types') },
  { name: 'wasi:http/outgoing-handler', versions: wasiVersions('wasi:http/outgoing-handler') },
  { name: 'fermyon:spin/http', versions: [UNVERSIONED] },
];

/**
 * The outbound HTTP capability, with the runtime config's `[outbound_http]` (`connection_pooling`
 * unless `options.connectionPooling` is given; `max_connections`, or the deprecated
 * `max_concurrent_requests`, under `[outbound_networking] max_total_connections`) and `[[client_tls]]`.
 * @throws ClientTlsError `RUNTIME_CLIENT_TLS` at set-up when a `[[client_tls]]` file cannot be used
 */
export function outboundHttpCapability(options: { connectionPooling?: boolean; lendHttpConnections?: boolean } = {}): Capability & { setUp: (...a: Parameters<Capability['setUp']>) => Promise<OutboundHttpService> } {
  return {
    name: 'outbound-http',
    interfaces: OUTBOUND_INTERFACES,
    guestModule: new URL('../guest/spin/outbound-http-guest.js', import.meta.url).href,
    async setUp(context) {
      const section = context.runtimeConfig?.outboundHttp;
      const connectionPooling = options.connectionPooling ?? section?.connectionPooling;
      const own = outboundHttpConnectionLimit(section);
      const connectionLimit = own === undefined && context.totalConnections === undefined ? undefined : new ConnectionLimit(own, context.totalConnections);
      const tlsEntries = context.runtimeConfig?.clientTls;
      const clientTls = tlsEntries === undefined || tlsEntries.length === 0 ? undefined : await loadClientTls(tlsEntries);
      const outbound = createOutboundHttp({
        allowedHosts: context.allowedHosts,
        app: context.app,
        selfOrigin: () => context.selfOrigin(),
        dispatch: context.dispatch,
        ...(context.blockNetworks === undefined ? {} : { blockNetworks: context.blockNetworks }),
        ...(context.lookup === undefined ? {} : { lookup: context.lookup }),
        ...(connectionPooling === undefined ? {} : { connectionPooling }),
        ...(connectionLimit === undefined ? {} : { connectionLimit }),
        ...(clientTls === undefined ? {} : { clientTls }),
        ...(options.lendHttpConnections === undefined ? {} : { lendHttpConnections: options.lendHttpConnections }),
      });
      return {
        outbound,
        handlers: outboundBridgeHandlers(outbound),
        // A lent connection's call lasts as long as the worker keeps the connection, idle or not,
        // and never reaches this app's listener (`OutboundHttp.lendable` refuses it): a worker in
        // one is not waiting on a request of the app, so it starts no extra worker.
        independentMethods: [OUTBOUND_LEND_METHOD],
        workerInit: () => ({}),
        close: () => outbound.close(),
      };
    },
  };
}
