import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/** `NODE_DEBUG=spinel-cache` turns these messages on. */
export const debug = debuglog('spinel-cache');

/** Published after every blob put: `{ digest, path, size, existed }`. */
export const putChannel = channel('spinel:cache:put');
/** Published for each download attempt outcome: `{ url, digest, attempt, status?, error? }` (URL redacted). */
export const downloadChannel = channel('spinel:cache:download');
/** Published when an entry is removed by verify, prune or clean: `{ path, reason }`. */
export const removeChannel = channel('spinel:cache:remove');
