import { debuglog } from 'node:util';

/** `NODE_DEBUG=spinel-oci-app`: what push and pull of apps skip and transfer. */
export const debug = debuglog('spinel-oci-app');
