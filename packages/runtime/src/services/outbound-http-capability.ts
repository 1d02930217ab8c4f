/**
 * The outbound HTTP capability: `wasi:http/outgoing-handler` (replacing the base host's, which
 * refuses every request) with the `wasi:http/types` that carry real responses, and Spin 1's
 * `fermyon:spin/http`. Requests leave through undici on the main thread after the component's
 * `allowed_outbound_hosts` and the runtime config's `block_networks` allow them.
 */
import type { Capability, CapabilityService } from '../capability.js';
import { OutboundConfigError } from '../errors.js';
import { UNVERSIONED, WASI_0_2, type InterfaceSpec } from '../prepare/interface-set.js';
import { createOutboundHttp, type OutboundHttp } from './outbound-http.js';
import { OUTBOUND_HTTP_METHOD, outboundBridgeHandler } from './outbound-service.js';

/** The outbound HTTP service once set up. */
export interface OutboundHttpService extends CapabilityService {
  readonly outbound: OutboundHttp;
}

const OUTBOUND_INTERFACES: readonly InterfaceSpec[] = [
  { name: 'wasi:http/types', versions: [WASI_0_2] },
  { name: 'wasi:http/outgoing-handler', versions: [WASI_0_2] },
  { name: 'fermyon:spin/http', versions: [UNVERSIONED] },
];

/** The outbound HTTP capability. `[outbound_http] connection_pooling` applies unless `options.connectionPooling` is given. */
export function outboundHttpCapability(options: { connectionPooling?: boolean } = {}): Capability & { setUp: (...a: Parameters<Capability['setUp']>) => OutboundHttpService } {
  return {
    name: 'outbound-http',
    interfaces: OUTBOUND_INTERFACES,
    guestModule: new URL('../guest/spin/outbound-http-guest.js', import.meta.url).href,
    setUp(context) {
      const connectionPooling = options.connectionPooling ?? connectionPoolingFrom(context.runtimeConfig?.document);
      const outbound = createOutboundHttp({
        allowedHosts: context.allowedHosts,
        selfOrigin: () => context.selfOrigin(),
        dispatch: context.dispatch,
        ...(context.blockNetworks === undefined ? {} : { blockNetworks: context.blockNetworks }),
        ...(context.lookup === undefined ? {} : { lookup: context.lookup }),
        ...(connectionPooling === undefined ? {} : { connectionPooling }),
      });
      return {
        outbound,
        handlers: { [OUTBOUND_HTTP_METHOD]: outboundBridgeHandler(outbound) },
        workerInit: () => ({}),
        close: () => outbound.close(),
      };
    },
  };
}

/**
 * `[outbound_http] connection_pooling` of a runtime-config document.
 * @throws OutboundConfigError `RUNTIME_OUTBOUND_CONFIG` when it is not a boolean
 */
function connectionPoolingFrom(doc: unknown): boolean | undefined {
  const outboundHttp = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['outbound_http'] : undefined;
  if (outboundHttp === undefined) return undefined;
  const pooling = typeof outboundHttp === 'object' && outboundHttp !== null ? (outboundHttp as Record<string, unknown>)['connection_pooling'] : undefined;
  if (pooling !== undefined && typeof pooling !== 'boolean') throw new OutboundConfigError('[outbound_http] connection_pooling must be true or false.');
  return pooling;
}
