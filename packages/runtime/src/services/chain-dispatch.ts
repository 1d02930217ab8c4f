import type { ExecuteOptions, GuestRequest, GuestResponse } from '../pool/executor-types.js';
import { guestHeaders } from '../trigger/request-metadata.js';
import { parseRoute, type RouteMatch } from '../trigger/router.js';
import type { ChainDispatch } from './outbound-http.js';

/** The executor's `handle`, or anything shaped like it. */
export type HandleRequest = (componentId: string, request: GuestRequest, options?: ExecuteOptions) => Promise<GuestResponse>;

const CHAINED_ROUTE = parseRoute('/...');

/**
 * Service chaining as Spin dispatches it (§6.3): the request goes straight to the component
 * (private ones included) on a synthetic `/...` route, the whole path as path-info, client
 * address `0.0.0.0:0`, with the `spin-*` headers a trigger would add (any the calling guest
 * set are dropped). Pass the result to `AppCapabilities.setChainDispatch`.
 */
export function createChainDispatch(handle: HandleRequest): ChainDispatch {
  return (componentId, request, signal) => {
    const url = new URL(request.url);
    const match: RouteMatch<unknown> = { id: componentId, value: undefined, route: CHAINED_ROUTE, pathInfo: url.pathname, params: [] };
    const ctx = { scheme: url.protocol === 'https:' ? ('https' as const) : ('http' as const), host: url.host, pathAndQuery: url.pathname + url.search, clientAddress: '0.0.0.0', clientPort: 0 };
    const headers = guestHeaders(request.headers.flat(), match, ctx);
    return handle(componentId, { ...request, headers }, signal === undefined ? {} : { signal });
  };
}
